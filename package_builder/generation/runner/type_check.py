"""The type contract between phases: after TYPES … ERROR_HANDLING, `tsc --noEmit` on the package as that phase left
it, stored in its artifact, where the next phase reads it (prompt and inputs digest). It runs at most once per
artifact, so resume and reruns stay exact; a kill between a phase's commit and its check is made good by whichever of
the two phases runs next."""

from __future__ import annotations

from dataclasses import replace

from package_builder.base.errors import PhaseFailed
from package_builder.generation.artifacts import COMMITTED
from package_builder.generation.runner.context import PhaseContext
from package_builder.generation.state import GenerationState
from package_builder.generation.validation import type_check_between_phases
from package_builder.generation.writer import Workspace


def ensure_type_check(ctx: PhaseContext, phase, state: GenerationState, workspace: Workspace) -> None:
    checks = ctx.config.build_validation
    if not phase.type_checks or not (checks.enabled and checks.type_check_between_phases):
        return
    artifact = ctx.store.load(phase.slug)
    if artifact is None or artifact.status != COMMITTED or artifact.type_check is not None:
        return
    with workspace.on_branch(state):
        result = type_check_between_phases(ctx.toolchain())
    if result.environment:
        raise PhaseFailed(
            f"{ctx.label(phase)}: the type-check after this phase stopped on an environment problem "
            f"(its answer is committed; run again to check and go on, no model call is repeated): "
            f"{result.problem}"
        )
    ctx.store.save(phase.slug, replace(artifact, type_check=result.to_json()))
    if not result.ran:
        ctx.say(f"type-check not run: {result.problem[:300]}", phase)
    elif result.exit_code == 0:
        ctx.say("type-check clean", phase)
    else:
        ctx.say(f"type-check: {result.errors} error(s), passed to the next phase", phase)
