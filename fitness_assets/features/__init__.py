"""Weekly features and user contexts: MongoDB pipelines, pure feature math, document models.

Nothing here imports Dagster; the assets in ``fitness_assets.defs.features`` are thin adapters.
"""
