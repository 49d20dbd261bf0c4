"""fitness_core."""
