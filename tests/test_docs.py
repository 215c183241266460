"""The README tells the truth: its commands exist, its feeds are registered, its demo output is real."""

from __future__ import annotations

import re
from pathlib import Path

import typer.main

from tscorr.cli import app
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


def test_demo_output_in_the_readme_is_what_the_demo_prints(runner, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = runner.invoke(app, ["demo", "--out", str(tmp_path / "demo.duckdb")])
    assert result.exit_code == 0, result.stderr
    demo = README.split("## The demo", 1)[1].split("```", 2)[1]
    shown = re.findall(r"^\d\. .*$", demo, re.M)
    assert len(shown) >= 3 and all(line in result.stdout for line in shown)
