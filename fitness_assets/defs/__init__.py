"""Dagster objects only, one folder per domain; loaded by ``fitness_assets.definitions``."""
