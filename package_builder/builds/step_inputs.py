"""What a workspace step reads, as one dictionary: its files, the root's files, its share of the lockfile (what
resolves its dependencies), the outputs of the steps it waits for, its scripts, its declaration and the environment
it declares, each with its digest. The dictionary's digest is the step's cache key, and the dictionary stored after
a run tells the next run why the step runs again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from package_builder.base.console import say
from package_builder.base.digest import changed_entries, digest_bytes
from package_builder.base.paths import build_record
from package_builder.builds.lockfile_slices import lockfile_slices
from package_builder.builds.monorepo import GitFiles, WorkspacePackage, global_inputs
from package_builder.builds.pipeline import Pipeline, dependency_stamps, output_globs, step_inputs

if TYPE_CHECKING:  # the validated model or its snapshot (config_snapshot.py): no pydantic at run time
    from package_builder.base.config_snapshot import ValidatedConfig


def step_inputs_of(
    config: ValidatedConfig,
    package: WorkspacePackage,
    packages: list[WorkspacePackage],
    step: str,
    pipeline: Pipeline,
    git: GitFiles | None,
) -> dict:
    """Everything a step of `package` reads, each with its digest (`git`: what git knows of the monorepo)."""
    root = config.workspace_root
    definition = pipeline.definition(package.name, step)
    by_name = {p.name: p for p in packages}

    prefix = len(str(root)) + 1

    def digests(paths) -> dict[str, str]:
        found = {}
        for path in paths:  # absolute paths under the root
            try:
                with open(path, "rb") as handle:
                    found[path[prefix:]] = digest_bytes(handle.read())
            except OSError:
                continue  # deleted since it was listed: not an input any more
        return found

    slices = lockfile_slices(root, packages, say=say)
    resolved = slices.digests.get(package.name)
    stamps = {}
    for kind, name in dependency_stamps(package, definition, by_name):
        record = build_record(root, kind, name)
        stamps[f"{kind}:{name}"] = record.read_text(encoding="utf-8") if record.exists() else None
    return {
        "package": package.name,
        "files": digests(step_inputs(package, pipeline, step, git)),
        "root": digests(global_inputs(root, config.global_build_inputs, git)),
        "resolved": {slices.lockfile: resolved} if resolved else {},
        "dependencies": stamps,
        "scripts": {script: package.scripts.get(script) for script in (*definition.prerequisites, step)},
        "declaration": pipeline.tasks.get(f"{package.name}#{step}", pipeline.tasks.get(step)),
        "outputs": list(output_globs(package, definition)),
        "env": pipeline.env_values(definition),
    }


def why_again(previous: dict | None, current: dict) -> str:
    """Why a step that ran before runs again, from its stored inputs: the files, dependencies or settings that
    changed, named (the first few of each)."""
    if not previous:
        return "first run"
    reasons = []
    labels = {"files": "", "root": "root file ", "resolved": "", "dependencies": ""}
    for part, label in labels.items():
        changed = changed_entries(previous.get(part) or {}, current.get(part) or {})
        for key, state in changed[:3]:
            if part == "resolved":
                reasons.append(f"its resolved dependencies changed ({key})")
            elif part == "dependencies":
                kind, name = key.split(":", 1)
                reasons.append(
                    f"{name}'s {kind} output changed" if name != current.get("package") else f"its own {kind} changed"
                )
            else:
                reasons.append(f"{label}{key} {state}")
        if len(changed) > 3:
            reasons.append(f"and {len(changed) - 3} more")
    for part, label in (
        ("scripts", "its script"),
        ("declaration", "its task definition"),
        ("outputs", "its outputs"),
        ("env", "a declared environment variable"),
    ):
        if previous.get(part) != current.get(part):
            reasons.append(f"{label} changed")
    return ", ".join(reasons) or "its inputs are unchanged (doit's own record was out of date)"
