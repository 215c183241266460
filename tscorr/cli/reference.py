"""The CLI reference page (``docs/cli.md``), written from the commands' own ``--help``.

Run ``python3 -m tscorr.cli.reference > docs/cli.md`` after changing a command, an option or
a help text; ``tests/test_docs.py`` regenerates the page and fails, naming this command, when
the committed file differs. The help is Click's, as ``tscorr COMMAND --help`` prints it, at a
fixed width of :data:`WIDTH` columns and without colour, so the page does not depend on the
terminal it was written from.
"""

from __future__ import annotations

import re
import sys

import typer.main

from tscorr.cli import app

WIDTH = 80  # columns the help is wrapped at
COMMAND = "python3 -m tscorr.cli.reference > docs/cli.md"
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def command_help(name: str | None = None) -> str:
    """``tscorr [NAME] --help`` as printed at :data:`WIDTH` columns, without colour codes."""
    root = typer.main.get_command(app)
    ctx = root.make_context(
        "tscorr", [], resilient_parsing=True, terminal_width=WIDTH, max_content_width=WIDTH
    )
    if name is not None:
        sub = root.commands[name]  # type: ignore[attr-defined]
        ctx = sub.make_context(name, [], parent=ctx, resilient_parsing=True)
    return _ANSI.sub("", ctx.command.get_help(ctx)).rstrip() + "\n"


def command_names() -> list[str]:
    """Every command, in the order ``tscorr --help`` lists them."""
    return list(typer.main.get_command(app).commands)  # type: ignore[attr-defined]


def reference() -> str:
    """The whole page: the top-level help, then one section per command."""
    parts = [
        "# Command reference\n",
        "Every command's `--help`, as printed at 80 columns. This page is generated: do not "
        f"edit it, run `{COMMAND}` (see [Contributing](contributing.md)).\n",
        "## tscorr\n",
        "```text\n" + command_help() + "```\n",
    ]
    for name in command_names():
        parts += [f"## tscorr {name}\n", "```text\n" + command_help(name) + "```\n"]
    return "\n".join(parts)


if __name__ == "__main__":
    sys.stdout.write(reference())
