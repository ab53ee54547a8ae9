"""The ``afkit`` command line (thin click wrappers over the public API)."""

from afkit.cli.main import main

__all__ = ["main"]
