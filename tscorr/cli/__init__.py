"""The ``tscorr`` command line (``tscorr.cli:main``); importing it registers every command."""

from tscorr.cli import analysis, data  # noqa: F401  (the modules register their commands)
from tscorr.cli.app import app, main

__all__ = ["app", "main"]
