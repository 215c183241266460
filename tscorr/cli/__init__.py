"""The ``tscorr`` command line (``tscorr.cli:main``); importing it registers every command."""

# Registration order is the order --help lists them: fill the file first, then analyse it.
from tscorr.cli import data  # noqa: F401, I001
from tscorr.cli import query  # noqa: F401
from tscorr.cli import analysis  # noqa: F401
from tscorr.cli import results  # noqa: F401
from tscorr.cli import pictures  # noqa: F401
from tscorr.cli import engine  # noqa: F401
from tscorr.cli.app import app, main

__all__ = ["app", "main"]
