"""`python -m mtcheck`: the same as the `mtcheck` command."""

from mtcheck.cli import main

main()
