"""``python -m fitness_cli``: the ``fitness`` command line without the console script."""

from fitness_cli.main import main

if __name__ == "__main__":
    main()
