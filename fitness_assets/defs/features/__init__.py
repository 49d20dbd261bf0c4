"""weekly_features and user_contexts, their checks, the weekly job and its schedule."""
