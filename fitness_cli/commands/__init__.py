"""The ``fitness`` commands, one module per area; :mod:`fitness_cli.main` registers them on the root group.

No module here imports the root group, so there is no import circle: each defines plain click
commands and groups.
"""
