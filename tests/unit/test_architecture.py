"""The layout keeps its promises: dodo.py is a table of contents, only the task package knows doit, and the graph
every engine reads has no third-party import (so `doit list` stays fast and a Temporal worker can use it as is)."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
THIRD_PARTY = ("doit", "pydantic", "jinja2", "git", "anthropic", "yaml", "httpx")


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_dodo_is_a_short_table_of_contents():
    assert len((REPO / "dodo.py").read_text().splitlines()) < 60


def test_only_the_task_package_imports_doit():
    offenders = [str(path.relative_to(REPO)) for path in (REPO / "package_builder").rglob("*.py")
                 if "doit" in imported_modules(path) and "tasks" not in path.relative_to(REPO).parts]
    assert offenders == []


def test_the_graph_loads_without_any_third_party_module():
    code = ("import sys, package_builder.graph\n"
            f"print(sorted(m for m in sys.modules if m.split('.')[0] in {THIRD_PARTY!r}))")
    loaded = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "[]"
