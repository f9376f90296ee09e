"""Runs one phase: context → prompt → model answer → validated artifact → workspace files, commit, checkpoint.

One entry point serves every phase and any engine: doit's task action calls `run_phase`; a Temporal activity can
call it unchanged. It picks the step for the phase's kind from `STEPS` (never from its name) or skips a phase the
config turns off, holds one of the workspace's phase slots (`turnBasedGeneration.maxConcurrentPhases`) while it runs,
and records any failure in the checkpoint. It is idempotent: called again with the same inputs it reuses the stored
artifact, finishes an interrupted apply or commit, and never pays for a model call twice.
"""

from __future__ import annotations

from dataclasses import replace

from package_builder.base.config import load_config
from package_builder.base.errors import PackageBuilderError, PhaseFailed
from package_builder.base.locks import slot
from package_builder.base.paths import state_dir
from package_builder.generation.artifacts import COMMITTED, SKIPPED, ArtifactStore, fold_files
from package_builder.generation.phase import PhaseSpec
from package_builder.generation.plan import parse_plan
from package_builder.generation.run_context import Progress, RunContext, print_line
from package_builder.generation.runner.context import PhaseContext, PhaseJob, load_context
from package_builder.generation.runner.generate import check, generate
from package_builder.generation.runner.merge import merge, skip
from package_builder.generation.state import GenerationState
from package_builder.generation.suite import with_apis
from package_builder.generation.writer import Workspace

__all__ = ["PhaseJob", "STEPS", "run_phase", "summarize"]

# The one place a phase's kind picks what runs (`phase.PHASE_KINDS`); a new kind needs a step here.
STEPS = {"model": generate, "checks": check, "merge": merge}


def run_phase(job: PhaseJob, phases: tuple[PhaseSpec, ...], run: RunContext) -> dict:
    """Run (or reuse) one phase of `run` and return a JSON-able summary; failures raise `PackageBuilderError`."""
    ctx = load_context(job, phases, run)
    workspace = ctx.workspace()
    limit = ctx.config.turn_based_generation.max_concurrent_phases
    with slot(
        state_dir(ctx.config.workspace_root) / "phase-slots",
        limit,
        on_wait=lambda: ctx.say(f"waiting: {limit} phase(s) already running (turnBasedGeneration.maxConcurrentPhases)"),
    ):
        state = workspace.open_state(ctx.plan, ctx.config.git.branch_prefix)
        if ctx.phase.calls_model and ctx.plan.workspace_dependencies:
            ctx = with_built_dependencies(ctx, workspace, state)
        try:
            if ctx.phase.calls_model and not ctx.settings.enabled:
                return skip(ctx, state)
            return STEPS[ctx.phase.kind](ctx, state, workspace)
        except PackageBuilderError as exc:
            state.fail_step(ctx.phase.number, ctx.phase.name, str(exc))
            _remember_failed_inputs(ctx, state)
            raise PhaseFailed(f"{ctx.label()} failed: {exc}") from None


def model_time(calls: list) -> str:
    """What the phases' model calls took, never a false `0.0 s`: a replayed answer (`ReplayModel`) takes no time and
    is recorded with 0 seconds, while a call over the network always takes some. So `model time 41.2 s`,
    `model time 3.1 s (+ 12 call(s) replayed)`, `model time: replayed (no call went to a model)`, `no model call`."""
    real = [call.seconds for call in calls if call.seconds > 0]
    replayed = len(calls) - len(real)
    if not calls:
        return "no model call"
    if not real:
        return "model time: replayed (no call went to a model)"
    return f"model time {sum(real):.1f} s" + (f" (+ {replayed} call(s) replayed)" if replayed else "")


def _remember_failed_inputs(ctx, state: GenerationState) -> None:
    """Record in the checkpoint's failure which plan, templates and model settings the phase failed with, so that
    `doit status` stops calling the plan failed once they change back (an edit that met a cassette miss, undone).
    Best effort: a template that cannot be read leaves the failure standing as it was recorded."""
    from package_builder.generation.explain import VisibleInputs
    from package_builder.generation.plan_status import failure_fingerprint

    try:
        visible = VisibleInputs(ctx.project.prompts, ctx.config)(ctx.plan, ctx.phases, ctx.phase)
    except (OSError, PackageBuilderError):
        return
    state.data["failureRecovery"]["visibleInputs"] = failure_fingerprint(visible)
    state.save()


def summarize(job: PhaseJob, phases: tuple[PhaseSpec, ...], progress: Progress = print_line) -> dict:
    """The closing line of `doit generate:<name>`: files, tokens, model time, branch."""
    config = load_config(job.config_path)
    plan = parse_plan(job.plan_path)
    store = ArtifactStore(config.workspace_root, plan.task_name)
    artifacts = [a for p in phases if (a := store.load(p.slug)) is not None]
    files = fold_files(artifacts)
    state = GenerationState.find(config.workspace_root, plan)
    branch = state.data.get("branch") if state else None
    tokens_in = sum(a.prompt_tokens for a in artifacts)
    cached = sum(a.cache_read_tokens for a in artifacts)
    tokens_out = sum(a.output_tokens for a in artifacts)
    spent = state.cost_usd if state else 0.0
    done = sum(1 for a in artifacts if a.status in (COMMITTED, SKIPPED))
    progress(
        f"[{plan.task_name}] {plan.package_name}: {done}/{len(phases)} phases done, {len(files)} files in "
        f"{plan.package_path}, tokens {tokens_in} in ({cached} from cache) / {tokens_out} out, "
        f"cost ${spent:.4f}, {model_time([c for a in artifacts for c in a.calls])}, branch {branch or '-'}, "
        f"state {state.path if state else 'none'}"
    )
    return {
        "phasesDone": done,
        "files": len(files),
        "inputTokens": tokens_in,
        "cacheReadTokens": cached,
        "outputTokens": tokens_out,
        "costUsd": spent,
        "branch": branch,
    }


def with_built_dependencies(ctx: PhaseContext, workspace: Workspace, state: GenerationState) -> PhaseContext:
    """The context with each workspace dependency built when it never was (on the feature branch, whose checkout
    holds a stacked sibling's code), and its API read again: the model is shown a sibling's built declarations, and
    every run of a phase sees the same API, so a resumed phase is not asked again because a later check built it."""
    toolchain = ctx.toolchain()
    with workspace.on_branch(state), toolchain.lockfiles_kept():
        results = toolchain.build_missing_dependencies(install=True)
    if results and not results[-1].ok:
        failed = results[-1]
        ctx.say(f"{failed.step} failed (exit {failed.exit_code}): the model is shown its sources instead")
    if not results:
        return ctx
    chars = ctx.config.turn_based_generation.dependency_api_chars
    return replace(ctx, plan=with_apis(ctx.plan, ctx.config.workspace_root, chars))
