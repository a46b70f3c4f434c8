"""``python -m tinygrad_seq``: the command line of ``tinygrad_seq.cli``."""

from .cli import main

if __name__ == "__main__":
    raise SystemExit(main())
