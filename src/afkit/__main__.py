"""``python -m afkit`` runs the command line."""

from afkit.cli import main

main()
