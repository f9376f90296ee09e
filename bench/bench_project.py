"""A throwaway package-builder checkout and workspace repo for the generation benches (not a bench itself)."""

import json
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PLAN = ROOT / "examples/data-validator/plans/packages/core/data-validator.md"


def make_project(tmp: Path, packages: tuple[str, ...] = ("data-validator",), **config) -> tuple[Path, Path]:
    """(project, workspace): a copy of dodo.py, phases and prompts with one core plan per name in `packages` (the
    bundled plan, renamed), and a workspace git repo with one commit; `config` adds to build-env.json."""
    project = tmp / "project"
    project.mkdir()
    shutil.copy(ROOT / "dodo.py", project)
    shutil.copytree(ROOT / "phases", project / "phases")
    shutil.copytree(ROOT / "prompts", project / "prompts")
    plans = project / "plans/packages/core"
    plans.mkdir(parents=True)
    for name in packages:
        (plans / f"{name}.md").write_text(PLAN.read_text().replace("@example/data-validator", f"@example/{name}"))
    workspace = tmp / "workspace"
    workspace.mkdir()
    git = ["git", "-C", str(workspace), "-c", "user.name=b", "-c", "user.email=b@localhost"]
    subprocess.run(git + ["init", "-q", "--initial-branch=main"], check=True)
    (workspace / "README.md").write_text("# bench\n")
    subprocess.run(git + ["add", "."], check=True)
    subprocess.run(git + ["commit", "-qm", "init"], check=True)
    (project / "configs").mkdir()
    (project / "configs/build-env.json").write_text(json.dumps({"workspaceRoot": str(workspace), **config}))
    return project, workspace
