"""Training-load policy: a batched numpy simulator of the physiology model, a gymnasium environment
over it, heuristic baselines, PPO training and common-random-numbers evaluation.

No Dagster import here; torch and stable-baselines3 are imported inside functions only.
"""
