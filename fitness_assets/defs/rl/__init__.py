"""training_policy and weekly_prescriptions, their blocking checks, the training job and the retraining sensor
(the adapters of ``fitness_assets.rl``)."""
