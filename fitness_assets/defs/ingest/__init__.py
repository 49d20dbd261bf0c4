"""The raw collections as observable source assets, and their observation schedule."""
