"""fitness_streaming."""
