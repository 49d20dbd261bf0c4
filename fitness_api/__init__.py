"""fitness_api."""
