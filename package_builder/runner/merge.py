"""The two phases that make no model call: MERGE (the branch is complete, clean and ready to merge) and a phase the
config turns off (recorded as skipped, nothing written)."""
from __future__ import annotations

import time

from ..artifacts import COMMITTED, SKIPPED
from ..digest import digest_of
from ..errors import PhaseFailed
from ..state import GenerationState
from ..workspace import Workspace
from .context import PhaseContext


def merge(ctx: PhaseContext, state: GenerationState, workspace: Workspace) -> dict:
    started = time.monotonic()
    earlier = [p for p in ctx.phases if p.number < ctx.phase.number]
    missing = [p.name for p in earlier
               if (a := ctx.store.load(p.slug)) is None or a.status not in (COMMITTED, SKIPPED)]
    if missing:
        raise PhaseFailed(f"{ctx.label()}: phases not finished: {', '.join(missing)}")
    state.start_step(ctx.phase.number, ctx.phase.name)
    with workspace.on_branch(state):
        ctx.check_package_clean(workspace)
        head = workspace.head_sha()
        ahead = workspace.commits_between(state.base_branch, state.branch) if state.base_branch else 0
    inputs = {"head": head, "branch": state.branch}
    artifact = ctx.new_artifact(inputs, digest_of({"head": head}), COMMITTED,
                                summary=f"{state.branch} is {ahead} commit(s) ahead of {state.base_branch}")
    ctx.store.save(ctx.phase.slug, artifact)
    ctx.record_step(state, artifact)
    state.data["mergeReady"] = {"branch": state.branch, "baseBranch": state.base_branch, "head": head,
                                "commitsAhead": ahead}
    state.finish()
    ctx.say(f"branch {state.branch} ready to merge into {state.base_branch} ({ahead} commits), "
            f"{time.monotonic() - started:.1f} s")
    return {"phase": ctx.phase.name, "branch": state.branch, "head": head}


def skip(ctx: PhaseContext, state: GenerationState) -> dict:
    inputs = {"skipped": True}
    artifact = ctx.new_artifact(inputs, digest_of(inputs), SKIPPED)
    ctx.store.save(ctx.phase.slug, artifact)
    ctx.record_step(state, artifact)
    ctx.say("skipped (turnBasedGeneration in the config)")
    return {"phase": ctx.phase.name, "skipped": True}
