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
    offenders = [
        str(path.relative_to(REPO))
        for path in (REPO / "package_builder").rglob("*.py")
        if "doit" in imported_modules(path) and path.relative_to(REPO).parts[1] != "tasks"
    ]
    assert offenders == []


def test_only_the_temporal_package_imports_temporalio_and_no_other_part_imports_it():
    """The Temporal engine is an optional extra: doit, the halves and the base never need it installed."""
    offenders = [
        str(path.relative_to(REPO))
        for path in [*(REPO / "package_builder").rglob("*.py"), *(REPO / "phases").rglob("*.py"), REPO / "dodo.py"]
        if path.relative_to(REPO).parts[:2] != ("package_builder", "temporal")
        and ({"temporalio"} & imported_modules(path) or imports_temporal_engine(path))
    ]
    assert offenders == []


def imports_temporal_engine(path: Path) -> bool:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        if any(name.startswith("package_builder.temporal") for name in names):
            return True
    return False


def test_the_graph_loads_without_any_third_party_module():
    code = (
        "import sys, package_builder.generation.graph\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {THIRD_PARTY!r}))"
    )
    loaded = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "[]"


# The tree shows the architecture: two halves on one shared base, wired to doit (and later Temporal) from above.
HALVES = ("generation", "builds")
BASE = "base"
WIRING = ("tasks", "temporal", "cli")  # may import every part; no part imports them


def package_modules() -> dict[str, Path]:
    """Every module of package_builder by dotted name (`package_builder.base.config`)."""
    modules = {}
    for path in (REPO / "package_builder").rglob("*.py"):
        parts = path.relative_to(REPO).with_suffix("").parts
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


def internal_imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The package_builder modules `name` imports anywhere in its body, functions included."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
                module = ".".join(base[: len(base) - node.level + 1] + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            for alias in node.names:
                target = f"{module}.{alias.name}"
                found.add(target if target in modules else module)
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", getattr(node.func, "id", "")) in ("import_module", "__import__")
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            found.add(str(node.args[0].value))  # importlib.import_module("package_builder.builds.steps")
    return {target for target in found if target in modules and target != name}


def part_of(name: str) -> str:
    parts = name.split(".")
    return parts[1] if len(parts) > 1 else ""


def test_the_three_parts_are_folders_and_nothing_else_sits_beside_them():
    top = {path.name for path in (REPO / "package_builder").iterdir() if path.name != "__pycache__"}
    assert top == {"__init__.py", "cli.py", "base", "generation", "builds", "tasks", "temporal"}
    for part in (BASE, *HALVES, "tasks", "temporal"):
        assert (REPO / "package_builder" / part / "__init__.py").read_text().startswith('"""'), part


def test_no_module_imports_the_other_half_or_the_wiring_and_the_base_imports_neither_half():
    modules = package_modules()
    crossing = []
    for name, path in modules.items():
        mine = part_of(name)
        for target in internal_imports(name, path, modules):
            theirs = part_of(target)
            if mine == "":  # package_builder/__init__.py would be a back door between the parts
                crossing.append(f"{name} -> {target}")
            if mine in HALVES and theirs not in (mine, BASE, ""):
                crossing.append(f"{name} -> {target}")
            if mine == BASE and theirs not in (BASE, ""):
                crossing.append(f"{name} -> {target}")
    assert crossing == []


def test_there_is_no_import_cycle_even_through_imports_inside_functions():
    modules = package_modules()
    graph = {name: internal_imports(name, path, modules) - {"package_builder"} for name, path in modules.items()}
    done: set[str] = set()

    def visit(name: str, path: tuple[str, ...]) -> None:
        if name in path:
            raise AssertionError("import cycle: " + " -> ".join(path[path.index(name) :] + (name,)))
        if name in done:
            return
        for target in sorted(graph[name]):
            visit(target, path + (name,))
        done.add(name)

    for name in sorted(graph):
        visit(name, ())


def test_no_two_modules_share_a_name_across_the_parts():
    """`status.py` beside `tasks/status.py`, `workspace/` beside `tasks/workspace.py`: one name, one thing."""
    seen: dict[str, str] = {}
    clashes = []
    for name in package_modules():
        parts = name.split(".")
        if len(parts) < 3:
            continue
        leaf = parts[-1]
        if leaf in seen and part_of(seen[leaf]) != part_of(name):
            clashes.append(f"{seen[leaf]} / {name}")
        seen.setdefault(leaf, name)
    assert clashes == []


def test_nothing_but_the_command_line_calls_print():
    """doit swaps sys.stdout around every action of every thread, and `print` holds no reference of its own to it:
    a print from a task can write into another task's freed capture and crash the run (-11). base/console.py's `say`
    is the way out; only cli.py, which runs before and without doit, prints."""
    offenders = sorted(
        f"{path.relative_to(REPO)}:{node.lineno}"
        for path in [*(REPO / "package_builder").rglob("*.py"), *(REPO / "phases").rglob("*.py"), REPO / "dodo.py"]
        if path.name != "cli.py"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "print"
    )
    assert offenders == []
