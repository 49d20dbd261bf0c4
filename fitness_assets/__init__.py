"""fitness_assets."""
