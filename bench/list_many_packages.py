"""Benchmark: `doit list` on a monorepo of many workspace packages (three tasks each), against bare doit listing
the same number of trivial tasks. Task loading walks every package's files (they are the build's file_dep).

Goal: ratio ≤ 1.5. Run by hand: `.venv/bin/python bench/list_many_packages.py [packages] [files] [repeats]`.
"""

import json
import shutil
import sys
import tempfile
from pathlib import Path

from list_many_plans import median_seconds

ROOT = Path(__file__).resolve().parent.parent


def main(packages: int = 100, files: int = 20, repeats: int = 11) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        project, workspace = Path(tmp) / "project", Path(tmp) / "workspace"
        project.mkdir()
        shutil.copy(ROOT / "dodo.py", project)
        shutil.copytree(ROOT / "phases", project / "phases")
        shutil.copytree(ROOT / "prompts", project / "prompts")
        (project / "plans/packages").mkdir(parents=True)
        (project / "configs").mkdir()
        (project / "configs/build-env.json").write_text(json.dumps({"workspaceRoot": str(workspace)}))
        (workspace / "packages").mkdir(parents=True)
        (workspace / "package.json").write_text(json.dumps({"private": True, "workspaces": ["packages/*"]}))
        for i in range(packages):
            folder = workspace / "packages" / f"p{i:03d}"
            (folder / "src").mkdir(parents=True)
            deps = {f"@bench/p{i - 1:03d}": "^1.0.0"} if i else {}
            (folder / "package.json").write_text(
                json.dumps({"name": f"@bench/p{i:03d}", "version": "1.0.0", "dependencies": deps})
            )
            for j in range(files):
                (folder / "src" / f"m{j}.ts").write_text(f"export const m{j} = {j};\n")
        bare = Path(tmp) / "bare"
        bare.mkdir()
        tasks = packages * 3 + 4
        (bare / "dodo.py").write_text(
            "def task_t():\n"
            f"    for i in range({tasks}):\n"
            "        yield {'name': str(i), 'actions': None, 'file_dep': [], 'doc': 'x'}\n"
        )
        ours = median_seconds([sys.executable, "-m", "doit", "list", "--all"], project, repeats)
        theirs = median_seconds([sys.executable, "-m", "doit", "list", "--all"], bare, repeats)
        print(f"doit list, {packages} packages x {files} files ({tasks} tasks): {ours * 1000:.0f} ms")
        print(f"bare doit, {tasks} trivial tasks: {theirs * 1000:.0f} ms")
        print(f"ratio {ours / theirs:.2f} (goal <= 1.5)")


if __name__ == "__main__":
    main(*(int(arg) for arg in sys.argv[1:]))
