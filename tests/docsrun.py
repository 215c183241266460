"""Run a Markdown document's examples as a reader would, and check the output it quotes.

The convention (docs/contributing.md says it for writers):

- ```` ```bash ```` blocks run in order in ONE bash session per document (variables, ``cd`` and
  files persist from block to block), in a fresh temporary folder where the repository's
  ``fixtures/`` is reachable as ``fixtures/``, with ``COLUMNS=100``, ``NO_COLOR=1``, no
  ``TSCORR_*`` variables, and ``tscorr`` (and ``python3``) on ``PATH`` running the code under
  test. Every command must succeed: a command that fails stops its block and fails the
  document (show a deliberate error as ``tscorr ... || echo "exit $?"``).
- A ```` ```text ```` block directly after a ``bash`` (or ``python``) block is that block's
  expected output (stdout and stderr together). Lines are compared whitespace-normalised, with
  table borders (box-drawing characters) removed and blank lines ignored. The expected lines
  must appear in the output in order and one after the other; a line that is exactly ``...``
  skips any number of output lines, and ``...`` inside a line matches any text there.
- ```` ```python ```` blocks run in order in one namespace per document, in the same folder,
  after the bash blocks above them; their ``print`` output is their output.
- Any other block (``sh``, ``console``, ``sql``, ``text`` not after a run block, none) is
  shown, not run.
- A document whose text holds ``<!-- docs-test: slow -->`` runs in the slow step only.
"""

from __future__ import annotations

import contextlib
import functools
import io
import os
import re
import selectors
import subprocess
import sys
import textwrap
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUN = ("bash", "python")
BLOCK_SECONDS = 300.0  # a block that takes longer is stopped (and fails)
_FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})(?P<info>[^\n`]*)$")
_BOX = re.compile(r"[\u2500-\u257f]")
_SPACE = re.compile(r"\s+")


@dataclass
class Block:
    """One fenced block: its language (the info string's first word), text and first line."""

    lang: str
    text: str
    line: int  # 1-based line of the opening fence
    expected: Block | None = None  # the text block right after a run block

    @property
    def runs(self) -> bool:
        return self.lang in RUN


@dataclass
class Outcome:
    block: Block
    output: str
    seconds: float
    error: str | None = None  # why the block failed (its run or its expected output)


@dataclass
class Report:
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def failures(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.error is not None]

    def describe(self, name: str) -> str:
        parts = []
        for o in self.failures:
            shown = (
                o.output if len(o.output) < 3000 else o.output[:1500] + "\n...\n" + o.output[-1500:]
            )
            parts.append(
                f"{name}:{o.block.line}: {o.block.lang} block failed: {o.error}\n"
                + textwrap.indent(o.block.text.rstrip(), "    | ")
                + "\n  output:\n"
                + textwrap.indent(shown.rstrip() or "(none)", "    > ")
            )
        return "\n\n".join(parts)


def blocks(markdown: str) -> list[Block]:
    """The fenced blocks of a document in order; a text block directly after a run block
    (nothing but blank lines between them) becomes that block's ``expected``."""
    found: list[Block] = []
    lines = markdown.splitlines()
    i = 0
    last_end = -10  # the line index of the last closing fence
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        fence, info, start = m["fence"], m["info"].strip(), i
        body: list[str] = []
        i += 1
        while i < len(lines):
            close = lines[i].strip()
            if close.startswith(fence[0] * len(fence)) and not close.strip(fence[0]):
                break
            body.append(
                lines[i][len(m["indent"]) :] if lines[i].startswith(m["indent"]) else lines[i]
            )
            i += 1
        lang = info.split()[0].lower() if info else ""
        block = Block(lang, "\n".join(body) + "\n", start + 1)
        between = lines[last_end + 1 : start]
        if (
            lang == "text"
            and found
            and found[-1].runs
            and found[-1].expected is None
            and not any(x.strip() for x in between)
        ):
            found[-1].expected = block
        else:
            found.append(block)
        last_end = i
        i += 1
    return found


def normalise(line: str) -> str:
    """A line as compared: box-drawing characters dropped, runs of whitespace made one space."""
    return _SPACE.sub(" ", _BOX.sub(" ", line)).strip()


def mismatch(expected: str, output: str) -> str | None:
    """Why ``output`` does not show ``expected`` (None when it does); see the module doc."""
    want = [x for x in (normalise(y) for y in expected.splitlines()) if x]
    have = [x for x in (normalise(y) for y in output.splitlines()) if x]
    if not want or _found(want, have):
        return None
    best = max(n for n in range(len(want)) if _found(want[:n], have))  # the longest shown prefix
    line = want[best]
    if best and want[best - 1] != "..." and _found(want[:best] + ["..."] + want[best:], have):
        return (
            f"expected line {line!r} directly after {want[best - 1]!r} "
            "(put a line '...' between them to skip output)"
        )
    return f"expected line {line!r} is not in the output" + (
        f" after {want[best - 1]!r}" if best else ""
    )


def _found(want: list[str], have: list[str]) -> bool:
    """``want`` (normalised lines, ``...`` included) matched in ``have``: the lines one after
    another from anywhere in the output, a line ``...`` skipping any number of lines."""
    if not want:
        return True
    patterns = [
        None if w == "..." else re.compile(".*".join(re.escape(p) for p in w.split("...")) + r"\Z")
        for w in want
    ]
    if patterns[0] is not None:
        patterns.insert(0, None)  # the excerpt may start anywhere

    @functools.cache
    def match(wi: int, hi: int) -> bool:  # patterns[wi:] matched from have[hi]
        if wi == len(patterns):
            return True
        p = patterns[wi]
        if p is None:
            return any(match(wi + 1, h) for h in range(hi, len(have) + 1))
        return hi < len(have) and p.match(have[hi]) is not None and match(wi + 1, hi + 1)

    return match(0, 0)


class Shell:
    """One bash session for a document: blocks are sourced one after another."""

    def __init__(self, cwd: Path, env: dict[str, str]) -> None:
        self.cwd = cwd
        self.proc = subprocess.Popen(
            ["bash", "--noprofile", "--norc"],
            cwd=cwd,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self._send("set -o pipefail\n")
        self.count = 0

    def _send(self, text: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(text)
        self.proc.stdin.flush()

    def run(self, code: str) -> tuple[str, int]:
        """Source ``code`` in the session; (its stdout+stderr, the exit status of the first
        command that failed, or 0). A failed command stops the block."""
        self.count += 1
        work = self.cwd / ".docs-test"
        work.mkdir(exist_ok=True)
        script, out = work / f"block-{self.count}.sh", work / f"block-{self.count}.out"
        # the ERR trap stops the sourced block at its first failed command (as set -e would,
        # without ending the session) and keeps that command's status
        script.write_text(
            "__docs_rc=0\n"
            'trap \'__docs_rc=$?; trap - ERR; echo "[exit status $__docs_rc: $BASH_COMMAND]"; '
            "return $__docs_rc' ERR\n" + code + "\ntrap - ERR\n"
        )
        marker = f"__docs_block_done_{self.count}__"
        self._send(
            f'. "{script}" > "{out}" 2>&1 < /dev/null; echo "{marker} $__docs_rc"; trap - ERR\n'
        )
        assert self.proc.stdout is not None
        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + BLOCK_SECONDS
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not sel.select(timeout=left):
                self.close()
                text = out.read_text(errors="replace") if out.exists() else ""
                return text + f"\n[stopped after {BLOCK_SECONDS:.0f} s]", 124
            line = self.proc.stdout.readline()
            if not line:  # the session ended (an `exit` in the block)
                text = out.read_text(errors="replace") if out.exists() else ""
                return text + "\n[the shell exited]", self.proc.wait()
            if line.startswith(marker):
                sel.close()
                return out.read_text(errors="replace"), int(line.split()[-1])

    def close(self) -> None:
        """End the session and anything a block left running (its whole process group)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, 9)
        self.proc.wait()
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe is not None:
                with contextlib.suppress(OSError):  # a block left output unread
                    pipe.close()


def environment(tmp: Path) -> dict[str, str]:
    """The session's environment: the code under test first on PATH and PYTHONPATH."""
    bin_dir = tmp / ".docs-bin"
    bin_dir.mkdir()
    # scripts, not links: a virtual environment's python finds its packages by the path run
    for name, run in (("tscorr", "-m tscorr "), ("python3", ""), ("python", "")):
        script = bin_dir / name
        script.write_text(f'#!/bin/sh\nexec "{sys.executable}" {run}"$@"\n')
        script.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TSCORR_")}
    env.pop("PYTHONSTARTUP", None)
    env.update(
        PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}",
        PYTHONPATH=os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])]),
        COLUMNS="100",
        NO_COLOR="1",
        TERM="dumb",
    )
    return env


def run_document(markdown: str, tmp: Path, *, skip_first_bash: bool = False) -> Report:
    """Run every bash and python block of ``markdown`` in order in ``tmp``; check each one's
    expected output. Stops at the first failed block (what follows depends on it)."""
    (tmp / "fixtures").symlink_to(ROOT / "fixtures")
    env = environment(tmp)
    report = Report()
    shell: Shell | None = None
    namespace: dict[str, object] = {"__name__": "__docs__"}
    skipped = not skip_first_bash
    try:
        for block in blocks(markdown):
            if not block.runs:
                continue
            if block.lang == "bash" and not skipped:
                skipped = True
                continue
            started = time.monotonic()
            if block.lang == "bash":
                shell = shell or Shell(tmp, env)
                output, status = shell.run(block.text)
                error = None if status == 0 else f"a command exited with status {status}"
            else:
                output, error = _run_python(block, namespace, tmp, env)
            if error is None and block.expected is not None:
                error = mismatch(block.expected.text, output)
            report.outcomes.append(Outcome(block, output, time.monotonic() - started, error))
            if error is not None:
                break
    finally:
        if shell is not None:
            shell.close()
    return report


def _run_python(
    block: Block, namespace: dict[str, object], tmp: Path, env: dict[str, str]
) -> tuple[str, str | None]:
    buffer = io.StringIO()
    here = Path.cwd()
    saved = {k: os.environ.get(k) for k in ("COLUMNS", "NO_COLOR", "TERM")}
    try:
        os.chdir(tmp)
        os.environ.update(COLUMNS=env["COLUMNS"], NO_COLOR=env["NO_COLOR"], TERM=env["TERM"])
        with contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(buffer):
            exec(compile(block.text, f"<python block at line {block.line}>", "exec"), namespace)
    except BaseException:  # the reader would see the traceback
        return buffer.getvalue() + traceback.format_exc(), "it raised"
    finally:
        os.chdir(here)
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return buffer.getvalue(), None


def python_module(markdown: str) -> str:
    """A document's python blocks as one module (one namespace), for the type checker."""
    return "\n\n".join(b.text for b in blocks(markdown) if b.lang == "python")
