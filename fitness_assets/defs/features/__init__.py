"""weekly_features and user_contexts and their checks (the adapters of ``fitness_assets.features``)."""
