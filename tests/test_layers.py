"""The package layers, as docs/architecture.md draws them, checked on every import.

core (errors, units, frames, resources, choices) <- store <- ingest <- analysis <- results <- demo <- cli
(api, the library's front door, beside demo: loads, analyses and answers in one call each)
with kernels apart: arrays in, arrays out, importing only core and each other.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "tscorr"
CORE = {
    "tscorr.errors",
    "tscorr.units",
    "tscorr.frames",
    "tscorr.resources",
    "tscorr.choices",
    "tscorr.tables",
}

# layer of a module -> the layers it may import (its own included)
ALLOWED = {
    "core": {"core"},
    "store": {"core", "store"},
    "ingest": {"core", "ingest"},  # feeds never see the database ...
    "ingest.load": {"core", "ingest", "store", "ingest.load"},  # ... only the load steps write
    "kernels": {"core", "kernels"},
    "analysis": {"core", "store", "kernels", "analysis"},
    "results": {"core", "store", "results"},
    "demo": {"core", "store", "ingest", "ingest.load", "analysis", "results"},
    # the library's front door: loads, analyses and answers
    "api": {"core", "store", "ingest", "ingest.load", "analysis", "results", "api"},
    "cli": {
        "core",
        "store",
        "ingest",
        "ingest.load",
        "kernels",
        "analysis",
        "results",
        "demo",
        "cli",
    },
    "entry": {"core", "cli", "entry"},
    # tscorr/__init__.py names the front door and what it takes (for mypy; each loads on use)
    "face": {"core", "store", "ingest", "ingest.load", "analysis", "api"},
}


def layer(module: str) -> str:
    if module in CORE:
        return "core"
    if module == "tscorr":
        return "face"
    if module in ("tscorr.__main__", "tscorr._entry"):
        return "entry"
    if module in ("tscorr.ingest.load", "tscorr.ingest.partload"):
        return "ingest.load"
    parts = module.split(".")
    if parts[1] == "analysis" and len(parts) > 2 and parts[2] == "kernels":
        return "kernels"
    return parts[1]


def modules() -> list[tuple[str, Path]]:
    out = []
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT.parent).with_suffix("")
        name = ".".join(rel.parts).removesuffix(".__init__")
        out.append((name, path))
    return out


def imports(path: Path, module: str) -> set[str]:
    found = set()
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("tscorr")}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1])
                base = f"{base}.{node.module}" if node.module else base
            if not base.startswith("tscorr"):
                continue
            for alias in node.names:  # "from tscorr.ingest import load" imports a module
                sub = f"{base}.{alias.name}"
                found.add(sub if (ROOT.parent / (sub.replace(".", "/") + ".py")).exists() else base)
    return found


@pytest.mark.parametrize("module,path", modules(), ids=[m for m, _ in modules()])
def test_module_imports_only_lower_layers(module: str, path: Path) -> None:
    own = layer(module)
    allowed = ALLOWED[own]
    wrong = sorted(
        f"{target} ({layer(target)})"
        for target in imports(path, module)
        if target != "tscorr" and layer(target) not in allowed and target != module
    )
    assert not wrong, f"{module} ({own}) imports {wrong}"


def test_the_checker_sees_a_violation(tmp_path: Path) -> None:
    """The test above can fail: a kernel importing the store is caught."""
    bad = tmp_path / "bad.py"
    bad.write_text("from tscorr.store import Store\nimport numpy\n")
    targets = imports(bad, "tscorr.analysis.kernels.bad")
    assert "tscorr.store" in targets
    assert layer("tscorr.store") not in ALLOWED[layer("tscorr.analysis.kernels.bad")]


def test_third_party_layering() -> None:
    """duckdb only in store, typer/rich only in cli, scipy never outside analysis."""
    rules = {
        "duckdb": "tscorr.store",
        "typer": "tscorr.cli",
        "rich": "tscorr.cli",
        "scipy": "tscorr.analysis",
        "matplotlib": "tscorr.results",
    }
    for module, path in modules():
        tree = ast.parse(path.read_text())
        names = {
            a.name.split(".")[0]
            for n in ast.walk(tree)
            if isinstance(n, ast.Import)
            for a in n.names
        }
        names |= {
            (n.module or "").split(".")[0]
            for n in ast.walk(tree)
            if isinstance(n, ast.ImportFrom) and not n.level
        }
        for lib, home in rules.items():
            if lib in names:
                assert module.startswith(home), f"{module} imports {lib}; only {home} may"


def test_the_command_line_starts_without_the_data_libraries() -> None:
    """``tscorr --help`` and every command's start import typer, not polars, numpy or DuckDB
    (240 ms on this machine): a command imports them when it runs. A constant a command's
    options need lives in ``tscorr.choices``, not in a module of the analysis."""
    import subprocess
    import sys

    code = (
        "import sys, tscorr.cli; "
        "print(sorted(m for m in ('polars', 'numpy', 'duckdb') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout
