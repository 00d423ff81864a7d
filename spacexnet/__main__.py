"""``python -m spacexnet …`` runs the ``spacexnet`` command line."""

from .cli import main

if __name__ == "__main__":
    main(prog_name="spacexnet")
