"""The README and docs/ tell the truth: their commands exist, their feeds are registered, their
examples run in order on a fresh database and print what they quote, their Python type-checks,
and the command reference is what ``--help`` prints. tests/docsrun.py runs a document; its
docstring (and docs/contributing.md) gives the convention writers follow."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import typer.main
from docsrun import blocks, mismatch, python_module, run_document

from tscorr.cli import app
from tscorr.cli.reference import COMMAND, command_help, command_names, reference
from tscorr.ingest.feeds import all_feeds

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
# the prose a person reads: the README and docs/ (not the generated command reference)
PROSE = README + "".join(
    page.read_text(encoding="utf-8")
    for page in sorted((ROOT / "docs").glob("*.md"))
    if page.name != "cli.md"
)
FEEDS_PAGE = (ROOT / "docs" / "feeds.md").read_text(encoding="utf-8")
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SLOW_MARK = "<!-- docs-test: slow -->"


def test_readme_starts_with_the_two_setup_commands() -> None:
    block = re.search(r"```bash\n(.*?)```", README, re.S)
    assert block is not None
    lines = [ln for ln in block.group(1).splitlines() if ln.strip()]
    assert len(lines) == 2
    assert "tscorr demo" in lines[0] and "pytest" in lines[1]


def test_every_command_is_shown_in_the_readme_or_the_docs() -> None:
    for name in typer.main.get_command(app).commands:  # type: ignore[attr-defined]
        assert f"tscorr {name}" in PROSE, name


def test_every_feed_is_on_the_feeds_page() -> None:
    for feed in all_feeds():
        assert f"`{feed.name}`" in FEEDS_PAGE, feed.name


def test_every_table_view_and_column_is_on_the_database_page(tmp_path: Path) -> None:
    """docs/database.md names every table, view and column of a new database (a column added
    by a migration and left out of the page fails here)."""
    import tscorr

    page = (ROOT / "docs" / "database.md").read_text(encoding="utf-8")
    with tscorr.open(tmp_path / "new.duckdb") as store:
        columns = store.query(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = 'main'"
        )
    assert columns.height > 50
    missing = [
        f"{table}.{column}"
        for table, column in columns.iter_rows()
        if f"`{table}`" not in page or not re.search(rf"\b{re.escape(column)}\b", page)
    ]
    assert not missing, f"docs/database.md does not describe: {', '.join(missing)}"


def test_demo_output_in_the_readme_is_what_the_demo_prints(demo_built) -> None:  # type: ignore[no-untyped-def]
    demo = README.split("## The demo", 1)[1].split("```", 2)[1]
    shown = re.findall(r"^\d\. .*$", demo, re.M)
    assert len(shown) >= 3 and all(line in demo_built.stdout for line in shown)


# --- every example of README.md and docs/*.md runs, in order, on a fresh database ---------


def _document_params() -> list[object]:
    params = []
    for path in DOCS:
        name = path.relative_to(ROOT).as_posix()
        slow = SLOW_MARK in path.read_text(encoding="utf-8")
        params.append(pytest.param(path, id=name, marks=[pytest.mark.slow] if slow else []))
    return params


@pytest.mark.parametrize("path", _document_params())
def test_document_examples_run_and_print_what_they_quote(path: Path, tmp_path: Path) -> None:
    name = path.relative_to(ROOT).as_posix()
    report = run_document(
        path.read_text(encoding="utf-8"), tmp_path, skip_first_bash=path.name == "README.md"
    )
    if report.failures:
        pytest.fail(report.describe(name), pytrace=False)


def test_document_python_passes_mypy_strict(tmp_path: Path) -> None:
    """Every document's python blocks (one module per document, as they run) pass
    ``mypy --strict`` against the code under test."""
    from mypy import api

    files = []
    for path in DOCS:
        code = python_module(path.read_text(encoding="utf-8"))
        if code.strip():
            module = tmp_path / (re.sub(r"\W", "_", path.relative_to(ROOT).as_posix()) + ".py")
            module.write_text(code)
            files.append(str(module))
    if not files:
        return
    config = tmp_path / "mypy.ini"
    config.write_text(f"[mypy]\nstrict = True\nignore_missing_imports = True\nmypy_path = {ROOT}\n")
    out, err, status = api.run(
        ["--config-file", str(config), "--cache-dir", str(ROOT / ".mypy_cache"), *files]
    )
    assert status == 0, out + err


# --- the harness itself: a wrong quote, a failed command or a wrong rm must fail ----------

SAMPLE = """# A sample

```bash
F=fixtures/feeds/csv
tscorr load $F/long_mixed.csv fixtures/events/news2012-2016.csv --csv
```

```sh
tscorr rm 1 --yes    # shown, not run
```

```python
import tscorr

with tscorr.open("tscorr.duckdb", read_only=True) as store:
    print(store.query("SELECT source_id, path FROM sources ORDER BY 1").rows())
```

```text
[(1, 'fixtures/feeds/csv/long_mixed.csv'), (2, 'fixtures/events/news2012-2016.csv')]
```

```bash
tscorr rm 2 --yes --csv   # the news events
ls $F/long_mixed.csv
```

```text
points,events,censored,rejects,series,sources
0,3,0,0,0,1
...
```
"""


def test_the_harness_runs_a_document_in_order(tmp_path: Path) -> None:
    report = run_document(SAMPLE, tmp_path)
    assert not report.failures, report.describe("sample")
    assert [o.block.lang for o in report.outcomes] == ["bash", "python", "bash"]
    assert (tmp_path / "tscorr.duckdb").exists()  # a fresh database in the document's folder


def test_the_harness_fails_a_wrong_rm(tmp_path: Path) -> None:
    """The README's own mistake: another file loaded first shifts the source ids, so `rm 2`
    removes the wrong file, and the quoted output (the news events) no longer matches."""
    shifted = SAMPLE.replace(
        "F=fixtures/feeds/csv\n", "F=fixtures/feeds/csv\ntscorr load $F/events.csv\n"
    )
    shifted = shifted.replace(
        "print(store.query(",
        "print([(1, 'fixtures/feeds/csv/long_mixed.csv'), (2, 'fixtures/events/news2012-2016.csv')] or store.query(",
    )
    report = run_document(shifted, tmp_path)
    assert [o.block.lang for o in report.failures] == ["bash"]
    assert (
        report.failures[0].error
        == "expected line '0,3,0,0,0,1' is not in the output after 'points,events,censored,rejects,series,sources'"
    )
    assert (
        f"sample:{shifted.count(chr(10), 0, shifted.index('tscorr rm 2'))}: bash block failed"
        in report.describe("sample")
    )


CHEAP = "```bash\nX=2\necho one; echo \"two  $X\"\nprintf 'three\\n\\nfour\\n'\n```\n\n```text\nEXPECTED\n```\n"


@pytest.mark.parametrize(
    "expected,error",
    [
        ("one\ntwo 2\nthree\nfour", None),
        ("two   2\n...\nfour", None),
        ("one\ntwo 3", "expected line 'two 3' is not in the output after 'one'"),
        (
            "one\nthree",
            "expected line 'three' directly after 'one' (put a line '...' between them to skip output)",
        ),
        ("four\none", "expected line 'one' is not in the output after 'four'"),
        ("five", "expected line 'five' is not in the output"),
    ],
)
def test_the_harness_checks_the_quoted_output(
    tmp_path: Path, expected: str, error: str | None
) -> None:
    report = run_document(CHEAP.replace("EXPECTED", expected), tmp_path)
    assert [o.error for o in report.outcomes] == [error]


def test_the_harness_fails_a_failed_command_and_stops(tmp_path: Path) -> None:
    doc = "```bash\necho one\nfalse\necho two\n```\n\n```bash\necho three\n```\n"
    report = run_document(doc, tmp_path)
    assert len(report.outcomes) == 1 and report.failures
    assert report.outcomes[0].output.startswith("one\n") and "two" not in report.outcomes[0].output
    assert "[exit status 1: false]" in report.outcomes[0].output


def test_the_harness_fails_python_that_raises(tmp_path: Path) -> None:
    doc = "```python\nx = 1\n```\n\n```python\nassert x == 2, 'x is not 2'\n```\n"
    report = run_document(doc, tmp_path)
    assert report.failures and "x is not 2" in report.failures[0].output


def test_the_readme_first_block_is_not_run(tmp_path: Path) -> None:
    doc = "```bash\nexit 3\n```\n\n```bash\necho ran\n```\n\n```text\nran\n```\n"
    assert not run_document(doc, tmp_path, skip_first_bash=True).failures


def test_expected_output_lines_follow_each_other_unless_skipped() -> None:
    out = "┃ series ┃ lag ┃\n┡━━━━╇━━━┩\n│ 311:total │  0 │\n\nother\nlast line here\n"
    assert mismatch("series lag\n311:total 0", out) is None  # borders and spacing ignored
    assert mismatch("311:total 0\n...\nlast line here", out) is None
    assert mismatch("last ... here", out) is None  # '...' inside a line
    assert "directly after" in str(mismatch("series lag\nother", out))
    assert "not in the output" in str(mismatch("311:total 1", out))
    assert mismatch("other\nseries lag", out) is not None  # order counts


def test_a_text_block_belongs_to_the_run_block_right_before_it() -> None:
    found = blocks("```bash\na\n```\n\n```text\nb\n```\nprose\n```text\nc\n```\n```sql\nd\n```\n")
    assert [(b.lang, b.expected.text if b.expected else None) for b in found] == [
        ("bash", "b\n"),
        ("text", None),
        ("sql", None),
    ]


# --- the command reference is generated from --help ----------------------------------------


def test_the_cli_reference_is_up_to_date() -> None:
    committed = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    assert committed == reference(), f"docs/cli.md is out of date: run `{COMMAND}`"


@pytest.mark.parametrize("name", [None, *command_names()])
def test_the_cli_reference_is_what_help_prints(runner, name: str | None) -> None:  # type: ignore[no-untyped-def]
    args = [name, "--help"] if name else ["--help"]
    shown = runner.invoke(app, args, prog_name="tscorr", terminal_width=80, color=False)
    assert shown.exit_code == 0
    assert shown.stdout.rstrip() + "\n" == command_help(name)
