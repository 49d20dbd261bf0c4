"""fitness_cli: the composition root, the ``fitness`` command line, the demo and the embedded services.

The only package that imports the others (fitness_core, fitness_streaming, fitness_assets,
fitness_api); nothing imports it. ``make lint`` checks this with import-linter.
"""
