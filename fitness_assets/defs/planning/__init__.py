"""workout_plans and nutrition_plans, and their blocking guardrail checks (the adapters of ``fitness_assets.planning``)."""
