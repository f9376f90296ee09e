"""The two steps that make no model call: a merge phase (the branch is complete and clean; then a pull request's text,
a merge into the base, or nothing, as `git.onMerge` says) and a phase the config turns off (recorded as skipped)."""

from __future__ import annotations

import time

from package_builder.base.digest import digest_of
from package_builder.base.errors import PhaseFailed
from package_builder.base.paths import state_dir
from package_builder.base.storage import write_text_atomic
from package_builder.generation.artifacts import COMMITTED, SKIPPED
from package_builder.generation.graph import disabled_by
from package_builder.generation.runner.context import PhaseContext
from package_builder.generation.runner.pull_request import pull_request
from package_builder.generation.state import GenerationState
from package_builder.generation.validation import validate_package
from package_builder.generation.writer import Workspace


def merge(ctx: PhaseContext, state: GenerationState, workspace: Workspace) -> dict:
    """Check the branch is complete and clean, then do what `git.onMerge` asks: `pr` (write PR.md), `merge` (merge
    into the base when green and the base has not moved), `none` (only record the branch head)."""
    started = time.monotonic()
    earlier = [p for p in ctx.phases if p.number < ctx.phase.number]
    missing = [p.name for p in earlier if (a := ctx.store.load(p.slug)) is None or a.status not in (COMMITTED, SKIPPED)]
    if missing:
        raise PhaseFailed(f"{ctx.label()}: phases not finished: {', '.join(missing)}")
    mode = ctx.config.git.on_merge
    state.start_step(ctx.phase.number, ctx.phase.name)
    base = state.base_branch
    with workspace.on_branch(state):
        ctx.check_package_clean(workspace)
        head = workspace.head_sha()
        ahead = workspace.commits_between(base, state.branch) if base else 0
    title, body = pull_request(ctx, state, head, ahead)
    outcome: dict[str, str] = {"mode": mode}
    done = f"branch {state.branch} ready to merge into {base} ({ahead} commits)"
    if mode == "pr":
        written = write_pull_request(ctx, title, body)
        outcome["pullRequest"] = str(written)
        done = f"{done}; pull request written to {written}"
    elif mode == "merge":
        outcome["mergeCommit"] = merge_branch(ctx, state, workspace, title, body)
        done = f"merged {state.branch} into {base} (commit {outcome['mergeCommit'][:10]})"
    inputs = {"head": head, "branch": state.branch, "onMerge": mode}
    artifact = ctx.new_artifact(
        inputs,
        digest_of({"head": head, "onMerge": mode}),
        COMMITTED,
        summary=f"{state.branch} is {ahead} commit(s) ahead of {base}",
    )
    ctx.store.save(ctx.phase.slug, artifact)
    ctx.record_step(state, artifact)
    state.data["mergeReady"] = {
        "branch": state.branch,
        "baseBranch": base,
        "head": head,
        "commitsAhead": ahead,
        **outcome,
    }
    state.finish()
    ctx.say(f"{done}, {time.monotonic() - started:.1f} s")
    return {"phase": ctx.phase.name, "branch": state.branch, "head": head, **outcome}


def write_pull_request(ctx: PhaseContext, title: str, body: str):
    """`.generation-state/<plan>/PR.md`: the title as its first line (a heading), then the body."""
    path = state_dir(ctx.config.workspace_root) / ctx.plan.task_name / "PR.md"
    write_text_atomic(path, f"# {title}\n\n{body}")
    return path


def merge_branch(ctx: PhaseContext, state: GenerationState, workspace: Workspace, title: str, body: str) -> str:
    """Merge the feature branch into its base, only when the package is green and the base has not moved under
    the branch (then nothing is touched: PR.md is written so the work can go through review instead)."""
    base = state.base_branch
    if not base:
        raise PhaseFailed(f"{ctx.label()}: not merged: the generation has no base branch recorded")
    if workspace.is_merged(state.branch, base):
        return workspace.branch_head(base)  # merged by a run killed before it recorded so
    checks = [p for p in ctx.phases if p.runs_checks]
    validation = next(
        (a.validation for p in checks if (a := ctx.store.load(p.slug)) is not None and a.validation), None
    )
    why = f"{' or '.join(p.name for p in checks)} did not run" if checks else "no phase runs the checks"
    refused = (
        f"the package was not validated ({why})"
        if validation is None
        else "the package is not green"
        if not validation.get("green")
        else None
    )
    with workspace.on_branch(state):
        if not refused:  # the phases after BUILD_VALIDATION may have changed it: what is merged is checked again
            ctx.say("checking the branch head before merging it")
            report = validate_package(ctx.toolchain(), ctx.coverage_target)
            if not report.green:
                first = (report.problem.splitlines() or [""])[0][:200]
                refused = f"the branch head is not green ({report.failure}: {first})"
        moved = None if refused else workspace.base_moved(base, state.branch)
        if moved:
            refused = (
                f"{base} has moved since the branch was made (now at {moved[:10]}); merge or rebase "
                f"{state.branch} yourself"
            )
        if refused:
            written = write_pull_request(ctx, title, body)
            raise PhaseFailed(
                f"{ctx.label()}: not merged (git.onMerge is merge): {refused}. Nothing was changed; "
                f"a pull request is written to {written}"
            )
        return workspace.merge_into(base, state.branch, f"{title}\n\n{body}")


def skip(ctx: PhaseContext, state: GenerationState) -> dict:
    inputs = {"skipped": True}
    artifact = ctx.new_artifact(inputs, digest_of(inputs), SKIPPED)
    ctx.store.save(ctx.phase.slug, artifact)
    ctx.record_step(state, artifact)
    ctx.say(f"skipped ({disabled_by(ctx.config, ctx.phase)} in the config)")
    return {"phase": ctx.phase.name, "skipped": True}
