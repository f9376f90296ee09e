"""The two steps that may call the model: a model phase (`generate`: prepare the request, reuse the stored answer when
the inputs are unchanged, otherwise ask the model, then apply the package tree, commit and checkpoint) and a checks
phase (`check`: the same reuse, otherwise the real toolchain, with the model asked only to repair). Idempotent: an
answer received but not committed is applied, never asked for again."""

from __future__ import annotations

import time
from dataclasses import replace

from package_builder.generation.artifacts import COMMITTED, FAILED, PhaseArtifact
from package_builder.generation.explain import changed_inputs
from package_builder.generation.graph import type_check_source
from package_builder.generation.providers import make_model
from package_builder.generation.runner.budget import Budget
from package_builder.generation.runner.context import PhaseContext, usage_line
from package_builder.generation.runner.request import PreparedRequest, ask_model, prepare
from package_builder.generation.runner.type_check import ensure_type_check
from package_builder.generation.runner.validate import build_validation
from package_builder.generation.state import GenerationState
from package_builder.generation.writer import Workspace


def generate(ctx: PhaseContext, state: GenerationState, workspace: Workspace) -> dict:
    """A model phase: one call (continued or re-asked as needed) whose answer writes the phase's files."""
    started = time.monotonic()
    request, existing, reused = _prepare_or_reuse(ctx, state, workspace)
    if reused is not None:
        return reused
    pending = (
        existing if existing and existing.inputs_digest == request.inputs_digest and existing.status != FAILED else None
    )
    prices = ctx.prices  # an unknown model's price under a budget fails here, before anything is asked or committed
    # a missing key fails before git is touched
    model = None if pending else make_model(ctx.config, ctx.config_path, ctx.say)
    state.start_step(ctx.phase.number, ctx.phase.name)
    with workspace.on_branch(state):
        ctx.check_package_clean(workspace)

    if pending is not None:
        artifact = pending  # the model already answered these exact inputs: a kill came before the commit
    else:
        assert model is not None  # made above whenever no answer is pending
        artifact = ask_model(ctx, model, request, Budget(ctx.config.budget, prices, state, ctx.run.budget))
        if existing is not None:  # a file this phase wrote last time and not now must go, not linger in the package
            gone = set(existing.files) - set(artifact.files)
            artifact = replace(artifact, deletes=sorted(set(artifact.deletes) | gone))
        ctx.store.save(ctx.phase.slug, artifact)

    with workspace.on_branch(state):
        desired, managed = ctx.package_tree()
        workspace.apply(ctx.plan.package_path, desired, sorted(managed - set(desired)))
        commit = workspace.commit(ctx.plan.package_path, ctx.commit_message(artifact))
        if commit is None:
            trailers = workspace.head_trailers()
            if trailers.get("Inputs-Digest") == request.inputs_digest and trailers.get("Phase") == ctx.phase.slug:
                commit = workspace.head_sha()  # committed just before an interruption
    artifact = replace(artifact, commit=commit, status=COMMITTED)
    ctx.store.save(ctx.phase.slug, artifact)
    ctx.record_step(state, artifact)
    ctx.say(
        f"{usage_line(artifact)}, {len(artifact.calls)} call(s), "
        f"{time.monotonic() - started:.2f} s, {'commit ' + commit[:10] if commit else 'no changes, no commit'}"
    )
    ensure_type_check(ctx, ctx.phase, state, workspace)
    return {
        "phase": ctx.phase.name,
        "reused": False,
        "commit": commit,
        "inputTokens": artifact.prompt_tokens,
        "outputTokens": artifact.output_tokens,
        "costUsd": artifact.cost_usd,
    }


def check(ctx: PhaseContext, state: GenerationState, workspace: Workspace) -> dict:
    """A checks phase: the real toolchain on the package, the model asked only to repair what fails."""
    started = time.monotonic()
    request, _, reused = _prepare_or_reuse(ctx, state, workspace)
    return reused if reused is not None else build_validation(ctx, state, workspace, request, started)


def _prepare_or_reuse(
    ctx: PhaseContext, state: GenerationState, workspace: Workspace
) -> tuple[PreparedRequest, PhaseArtifact | None, dict | None]:
    """The phase's request, its stored artifact, and the step's result when that artifact is committed for these
    very inputs (then nothing is asked or run again)."""
    source = type_check_source(ctx.phases, ctx.phase)
    if source is not None:
        ensure_type_check(ctx, source, state, workspace)
    request = prepare(ctx)
    existing = ctx.store.load(ctx.phase.slug)
    if existing and existing.inputs_digest == request.inputs_digest and existing.status == COMMITTED:
        if existing.commit is None or workspace.contains(state.branch, existing.commit):
            ctx.record_step(state, existing)
            ctx.say("reused: inputs unchanged, no model call")
            ensure_type_check(ctx, ctx.phase, state, workspace)  # killed between commit and check?
            return request, existing, {"phase": ctx.phase.name, "reused": True, "commit": existing.commit}

    if existing and existing.status == COMMITTED and existing.inputs_digest != request.inputs_digest:
        reasons = changed_inputs(existing.inputs, request.inputs)
        ctx.say(f"runs again: {', '.join(reasons) or 'its inputs changed'}")
    return request, existing, None
