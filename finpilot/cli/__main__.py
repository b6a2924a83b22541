"""``python -m finpilot.cli``: the same as the ``finpilot`` console script."""

from finpilot.cli import main

if __name__ == "__main__":
    main()
