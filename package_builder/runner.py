"""Runs one phase: context → prompt → model answer → validated artifact → workspace files, commit, checkpoint.

The same function serves every model phase (the phases differ only in their declarations) and any engine: doit
calls it from `dodo.py`; a Temporal activity can call it unchanged. It is idempotent: called again with the same
inputs it reuses the stored artifact, finishes an interrupted apply or commit, and never pays for a model call twice.
"""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path

from .answer import ModelAnswer, parse_answer
from .artifacts import ANSWERED, COMMITTED, FAILED, SKIPPED, ArtifactStore, ModelCall, PhaseArtifact, fold_files
from .config import BuildConfig, load_config
from .digest import digest_of, digest_text
from .errors import ConfigError, ModelAnswerError, PackageBuilderError, PhaseFailed, WorkspaceError
from .model import ModelRequest, make_model
from .paths import ProjectPaths
from .phase import PhaseSpec
from .plan import PlanSpec, parse_plan
from .state import GenerationState, now_iso
from .templates import SYSTEM_TEMPLATE, PromptRenderer, template_sources
from .toolchain import Toolchain, type_check_between_phases, validate_package
from .workspace import Workspace

TEST_RUNNER = {"name": "vitest", "version": "3.2.4", "coverage": "@vitest/coverage-v8"}


@dataclass(frozen=True)
class PhaseJob:
    """Everything that names one phase of one plan; plain values, so any engine can pass it along."""

    project_root: Path
    config_path: Path
    plan_path: Path
    phase_name: str


@dataclass
class _Context:
    project: ProjectPaths
    config: BuildConfig
    plan: PlanSpec
    phases: tuple[PhaseSpec, ...]
    phase: PhaseSpec
    store: ArtifactStore
    config_path: Path

    @property
    def total(self) -> int:
        return len(self.phases)

    def label(self) -> str:
        return f"[{self.plan.task_name}] phase {self.phase.number:02d}/{self.total} {self.phase.name}"


def run_phase(job: PhaseJob, phases: tuple[PhaseSpec, ...], out=sys.stdout) -> dict:
    """Run (or reuse) one phase and return a JSON-able summary; failures raise `PackageBuilderError`."""
    started = time.monotonic()
    ctx = _load(job, phases)
    workspace = Workspace(ctx.config.workspace_root, ctx.config.git.author_name, ctx.config.git.author_email)
    with workspace.locked():
        state = GenerationState.open(ctx.config.workspace_root, ctx.plan,
                                     workspace.current_branch(), ctx.config.git.branch_prefix)
    try:
        if ctx.phase.calls_model and not _enabled(ctx):
            return _skip(ctx, state, out)
        if not ctx.phase.calls_model:
            return _merge(ctx, state, workspace, out, started)
        return _generate(ctx, state, workspace, out, started)
    except PackageBuilderError as exc:
        state.fail_step(ctx.phase.number, ctx.phase.name, str(exc))
        raise PhaseFailed(f"{ctx.label()} failed: {exc}") from None


def _load(job: PhaseJob, phases: tuple[PhaseSpec, ...]) -> _Context:
    names = tuple(p.name for p in phases)
    config = load_config(job.config_path, names)
    if not config.turn_based_generation.enabled:
        raise ConfigError(f"{job.config_path}: field turnBasedGeneration.enabled is false: generation is turned off")
    plan = parse_plan(job.plan_path)
    phase = next(p for p in phases if p.name == job.phase_name)
    return _Context(project=ProjectPaths(job.project_root), config=config, plan=plan, phases=phases, phase=phase,
                    store=ArtifactStore(config.workspace_root, plan.task_name), config_path=job.config_path)


def _enabled(ctx: _Context) -> bool:
    if ctx.phase.runs_checks and not ctx.config.build_validation.enabled:
        return False
    settings = ctx.config.turn_based_generation
    if settings.phases_to_execute is not None and ctx.phase.name not in settings.phases_to_execute:
        return False
    return ctx.phase.name not in settings.phases_to_skip


def _generate(ctx: _Context, state: GenerationState, workspace: Workspace, out, started: float) -> dict:
    upstream = _upstream(ctx)
    view = fold_files(upstream)
    rendered_files = _render_files(ctx)
    max_tokens = ctx.config.turn_based_generation.token_budgets.get(ctx.phase.name, ctx.phase.max_tokens)
    temperature = (ctx.config.turn_based_generation.temperatures.get(ctx.phase.name, ctx.phase.temperature)
                   if ctx.config.model.send_temperature else None)
    renderer = PromptRenderer(ctx.project.prompts)
    previous = _previous_phase(ctx)
    type_check = _ensure_type_check(ctx, previous, state, workspace, out) if previous else None
    template_context = {**_template_context(ctx, view, rendered_files, max_tokens), "type_check": type_check}
    system = renderer.render(SYSTEM_TEMPLATE, template_context)
    prompt = renderer.render(ctx.phase.template, template_context)
    inputs = {
        "promptDigest": digest_text(system + "\0" + prompt),
        "templates": {str(p.relative_to(ctx.project.prompts)): digest_text(p.read_text(encoding="utf-8"))
                      for name in (SYSTEM_TEMPLATE, ctx.phase.template, *ctx.phase.rendered_files.values())
                      for p in template_sources(ctx.project.prompts, name) if p.exists()},
        "plan": digest_text(ctx.plan.body),
        "upstream": {a.phase: a.output_digest for a in upstream},
        "renderedFiles": digest_of(rendered_files),
        "model": ctx.config.model.name,
        "maxTokens": max_tokens,
        "temperature": temperature,
        "writeAllowlist": list(ctx.phase.write_allowlist),
        "typeCheck": digest_of(type_check) if type_check else None,
    }
    inputs_digest = digest_of(inputs)

    existing = ctx.store.load(ctx.phase.slug)
    if existing and existing.inputs_digest == inputs_digest and existing.status == COMMITTED:
        if existing.commit is None or workspace.contains(state.branch, existing.commit):
            _record_step(state, ctx, existing, reused=True)
            _say(out, f"{ctx.label()}  reused: inputs unchanged, no model call")
            _ensure_type_check(ctx, ctx.phase, state, workspace, out)  # killed between commit and check?
            return {"phase": ctx.phase.name, "reused": True, "commit": existing.commit}

    if ctx.phase.runs_checks:
        return _build_validation(ctx, state, workspace, out, started, renderer, template_context, system, inputs,
                                 inputs_digest, max_tokens, temperature)
    pending = existing if existing and existing.inputs_digest == inputs_digest and existing.status != FAILED else None
    model = None if pending else make_model(ctx.config, ctx.config_path)  # a missing key fails before git is touched
    state.start_step(ctx.phase.number, ctx.phase.name)
    with workspace.locked():
        workspace.checkout_branch(state.branch, state.base_branch or workspace.current_branch())
        _check_package_clean(ctx, workspace)

    if pending is not None:
        artifact = pending  # the model already answered these exact inputs: a kill came before the commit
    else:
        artifact = _ask_model(ctx, model, system, prompt, max_tokens, temperature, inputs, inputs_digest, rendered_files,
                              view)
        if existing is not None:  # a file this phase wrote last time and not now must go, not linger in the package
            artifact.deletes = sorted(set(artifact.deletes) | (set(existing.files) - set(artifact.files)))
        ctx.store.save(ctx.phase.slug, artifact)

    with workspace.locked():
        workspace.checkout_branch(state.branch, state.base_branch or workspace.current_branch())
        desired, managed = _package_tree(ctx)
        workspace.apply(ctx.plan.package_path, desired, sorted(managed - set(desired)))
        commit = workspace.commit(ctx.plan.package_path, _commit_message(ctx, artifact))
        if commit is None:
            trailers = workspace.head_trailers()
            if trailers.get("Inputs-Digest") == inputs_digest and trailers.get("Phase") == ctx.phase.slug:
                commit = workspace.head_sha()  # committed just before an interruption
    artifact.commit = commit
    artifact.status = COMMITTED
    ctx.store.save(ctx.phase.slug, artifact)
    _record_step(state, ctx, artifact, reused=False)
    seconds = time.monotonic() - started
    _say(out, f"{ctx.label()}  {artifact.input_tokens} in / {artifact.output_tokens} out tokens, "
              f"{len(artifact.calls)} call(s), {seconds:.2f} s, "
              f"{'commit ' + commit[:10] if commit else 'no changes, no commit'}")
    _ensure_type_check(ctx, ctx.phase, state, workspace, out)
    return {"phase": ctx.phase.name, "reused": False, "commit": commit,
            "inputTokens": artifact.input_tokens, "outputTokens": artifact.output_tokens}


def _build_validation(ctx: _Context, state: GenerationState, workspace: Workspace, out, started: float,
                      renderer: PromptRenderer, template_context: dict, system: str, inputs: dict, inputs_digest: str,
                      max_tokens: int, temperature: float | None) -> dict:
    """Run the real checks on what the earlier phases wrote; on failure, give the model the real output and let it
    repair, each attempt its own commit, within the configured bound. The report is the truth, never the model."""
    settings = ctx.config.build_validation
    state.start_step(ctx.phase.number, ctx.phase.name)
    earlier = [a for p in ctx.phases if p.number < ctx.phase.number
               and (a := ctx.store.load(p.slug)) is not None and a.status in (COMMITTED, SKIPPED)]
    view = fold_files(earlier)
    toolchain = _toolchain(ctx)
    repairs = PhaseArtifact(phase=ctx.phase.name, number=ctx.phase.number, task_name=ctx.plan.task_name,
                            package_name=ctx.plan.package_name, inputs_digest=inputs_digest, inputs=inputs,
                            status=ANSWERED, started_at=now_iso())
    model = None
    history = []
    tries: dict[str, int] = {}  # repair attempts spent per failure kind
    exhausted = ""
    for attempt in range(settings.max_repair_attempts + 1):
        with workspace.locked():
            workspace.checkout_branch(state.branch, state.base_branch or workspace.current_branch())
            _check_package_clean(ctx, workspace)
            managed = {path for a in earlier for path in (*a.files, *a.deletes)} | set(repairs.files)
            workspace.apply(ctx.plan.package_path, view, sorted(managed - set(view)))
            report = validate_package(toolchain, _coverage_target(ctx))
        history.append(report.to_json())
        _say(out, f"{ctx.label()}  checks {'green' if report.green else 'red: ' + report.problem} "
                  f"({', '.join(f'{s.step} {s.exit_code}' for s in report.steps) or 'no command ran'})")
        if report.green or report.failure == "environment" or attempt == settings.max_repair_attempts:
            break
        limit = settings.max_attempts_per_failure.get(report.failure, settings.max_repair_attempts)
        if tries.get(report.failure, 0) >= limit:
            exhausted = f" (buildValidation.maxAttemptsPerFailure allows {limit} for {report.failure} failures)"
            break
        tries[report.failure] = tries.get(report.failure, 0) + 1
        model = model or make_model(ctx.config, ctx.config_path)
        context = {**template_context, "files": view, "report": report, "attempt": attempt + 1}
        prompt = renderer.render(ctx.phase.template, context)
        answer = _ask_model(ctx, model, system, prompt, max_tokens, temperature, inputs, inputs_digest, {}, view)
        repairs.calls += answer.calls
        repairs.files.update(answer.files)
        repairs.deletes = sorted(set(repairs.deletes) - set(answer.files) | set(answer.deletes))
        view = {path: content for path, content in {**view, **answer.files}.items() if path not in answer.deletes}
        with workspace.locked():
            workspace.checkout_branch(state.branch, state.base_branch or workspace.current_branch())
            workspace.apply(ctx.plan.package_path, answer.files, list(answer.deletes))
            workspace.commit(ctx.plan.package_path, _commit_message(
                ctx, answer, f"fix({ctx.phase.kebab}): repair attempt {attempt + 1} for {ctx.plan.package_name} "
                             f"({report.failure})"))

    report_context = {"report": report, "attempts": len(history) - 1, "manager": toolchain.manager,
                      "package_name": ctx.plan.package_name}
    for path, template in ctx.phase.rendered_files.items():
        repairs.files[path] = renderer.render(template, report_context)
    repairs.validation = {"green": report.green, "attempts": history}
    repairs.model_seconds = round(sum(c.seconds for c in repairs.calls), 3)
    repairs.status = ANSWERED if report.green else FAILED
    ctx.store.save(ctx.phase.slug, repairs)
    with workspace.locked():
        workspace.checkout_branch(state.branch, state.base_branch or workspace.current_branch())
        if report.green:
            desired, managed = _package_tree(ctx)
            workspace.apply(ctx.plan.package_path, desired, sorted(managed - set(desired)))
        else:
            workspace.apply(ctx.plan.package_path, {p: repairs.files[p] for p in ctx.phase.rendered_files}, [])
        commit = workspace.commit(ctx.plan.package_path, _commit_message(ctx, repairs))
    repairs.commit = commit
    if not report.green:
        ctx.store.save(ctx.phase.slug, repairs)
        last = report.steps[-1].output if report.steps else ""
        why = ("stopped on an environment problem, no model call spent" if report.failure == "environment"
               else f"the package is still red after {len(history) - 1} repair attempt(s){exhausted}")
        raise PhaseFailed(f"{ctx.label()}: {why}: {report.problem} "
                          f"(see {ctx.plan.package_path}/BUILD_VALIDATION.md)\n{last}")
    repairs.status = COMMITTED
    ctx.store.save(ctx.phase.slug, repairs)
    _record_step(state, ctx, repairs, reused=False)
    _say(out, f"{ctx.label()}  green after {len(history) - 1} repair attempt(s), {len(repairs.calls)} call(s), "
              f"{time.monotonic() - started:.2f} s, {'commit ' + commit[:10] if commit else 'no changes, no commit'}")
    return {"phase": ctx.phase.name, "green": True, "commit": commit, "repairs": len(history) - 1}


def _ensure_type_check(ctx: _Context, phase: PhaseSpec, state: GenerationState, workspace: Workspace,
                       out) -> dict | None:
    """TYPES … ERROR_HANDLING: tsc on the package as `phase` left it, stored in its artifact, where the next phase
    reads it (prompt and inputs digest). Run at most once per artifact, so resume and reruns stay exact; a kill
    between the commit and the check is made good by whichever of the two phases runs next."""
    if not phase.type_checks or not (ctx.config.build_validation.enabled
                                     and ctx.config.build_validation.type_check_between_phases):
        return None
    artifact = ctx.store.load(phase.slug)
    if artifact is None or artifact.status != COMMITTED:
        return None
    if artifact.type_check is not None:
        return artifact.type_check
    with workspace.locked():
        workspace.checkout_branch(state.branch, state.base_branch or workspace.current_branch())
        result = type_check_between_phases(_toolchain(ctx))
    label = f"[{ctx.plan.task_name}] phase {phase.number:02d}/{ctx.total} {phase.name}"
    if result.get("environment"):
        raise PhaseFailed(f"{label}: the type-check after this phase stopped on an environment problem (its answer is "
                          f"committed; run again to check and go on, no model call is repeated): {result['problem']}")
    artifact.type_check = result
    ctx.store.save(phase.slug, artifact)
    if not result["ran"]:
        _say(out, f"{label}  type-check not run: {result['problem'][:300]}")
    elif result["exitCode"] == 0:
        _say(out, f"{label}  type-check clean")
    else:
        _say(out, f"{label}  type-check: {result['errors']} error(s), passed to the next phase")
    return result


def _toolchain(ctx: _Context) -> Toolchain:
    """The generated package's toolchain, configured by `buildValidation`."""
    settings = ctx.config.build_validation
    return Toolchain(ctx.config.workspace_root / ctx.plan.package_path, ctx.config.workspace_root,
                     ctx.config.npm_registry, ignore_scripts=settings.ignore_scripts,
                     timeout_seconds=settings.command_timeout_seconds)


def _previous_phase(ctx: _Context) -> PhaseSpec | None:
    return next((p for p in ctx.phases if p.number == ctx.phase.number - 1), None)


def _upstream(ctx: _Context) -> list[PhaseArtifact]:
    artifacts = []
    for name in ctx.phase.reads:
        phase = next(p for p in ctx.phases if p.name == name)
        artifact = ctx.store.load(phase.slug)
        if artifact is None or artifact.status not in (COMMITTED, SKIPPED):
            raise PhaseFailed(f"{ctx.label()} needs the output of {name}, which has not finished: "
                              f"run `doit generate:{ctx.plan.task_name}`")
        artifacts.append(artifact)
    return artifacts


def _render_files(ctx: _Context) -> dict[str, str]:
    """Files the code renders itself (no tokens spent), e.g. FOUNDATION's tsconfig and test config."""
    if not ctx.phase.rendered_files or ctx.phase.runs_checks:  # BUILD_VALIDATION renders its report after the checks
        return {}
    renderer = PromptRenderer(ctx.project.prompts)
    context = {"package_name": ctx.plan.package_name, "category": ctx.plan.category,
               "coverage_target": _coverage_target(ctx)}
    return {path: renderer.render(template, context) for path, template in ctx.phase.rendered_files.items()}


def _coverage_target(ctx: _Context) -> int:
    override = ctx.config.testing.min_coverage_percent
    return override if override is not None else ctx.plan.coverage_target


def _template_context(ctx: _Context, view: dict[str, str], rendered_files: dict[str, str], max_tokens: int) -> dict:
    return {
        "plan": ctx.plan,
        "phase": ctx.phase,
        "phase_count": ctx.total,
        "max_tokens": max_tokens,
        "files": view,
        "rendered_files": rendered_files,
        "quality": {"coverage_target": _coverage_target(ctx), "test_runner": TEST_RUNNER},
        "dependencies": ctx.plan.dependencies,
        "report": None,
        "type_check": None,
        "attempt": 0,
        "max_attempts": ctx.config.build_validation.max_repair_attempts,
    }


def _ask_model(ctx: _Context, model, system: str, prompt: str, max_tokens: int, temperature: float | None, inputs: dict,
               inputs_digest: str, rendered_files: dict[str, str], before: dict[str, str]) -> PhaseArtifact:
    """Call the model; re-ask with the problem when an answer is truncated or invalid, up to the configured limit."""
    messages: list[dict] = [{"role": "user", "content": prompt}]
    calls: list[ModelCall] = []
    started_at = now_iso()
    attempts = ctx.config.model.max_answer_repairs + 1
    problem = ""
    for attempt in range(1, attempts + 1):
        request = ModelRequest(model=ctx.config.model.name, system=system, messages=tuple(messages),
                               max_tokens=max_tokens, temperature=temperature)
        reply = model.call(request, ctx.phase.name)
        answer, problem = _judge(ctx, reply.text, reply.stop_reason, max_tokens, before)
        calls.append(ModelCall(attempt=attempt, request_digest=request.digest, stop_reason=reply.stop_reason,
                               input_tokens=reply.input_tokens, output_tokens=reply.output_tokens,
                               seconds=reply.seconds, problem=problem))
        if answer is not None:
            return PhaseArtifact(
                phase=ctx.phase.name, number=ctx.phase.number, task_name=ctx.plan.task_name,
                package_name=ctx.plan.package_name, inputs_digest=inputs_digest, inputs=inputs, status=ANSWERED,
                files={**rendered_files, **answer.files}, deletes=list(answer.deletes), summary=answer.summary,
                raw_answer=reply.text, calls=calls, model_seconds=round(sum(c.seconds for c in calls), 3),
                started_at=started_at)
        messages += [{"role": "assistant", "content": reply.text or "(empty)"},
                     {"role": "user", "content": _repair_prompt(problem)}]
        _say(sys.stdout, f"{ctx.label()}  answer {attempt}/{attempts} not applied ({problem[:200]}); asking again")
    raise ModelAnswerError(f"no usable answer after {attempts} attempt(s); last problem: {problem}")


def _judge(ctx: _Context, text: str, stop_reason: str, max_tokens: int,
           before: dict[str, str]) -> tuple[ModelAnswer | None, str]:
    if stop_reason == "max_tokens":
        return None, (f"the answer was cut off at the {max_tokens}-token limit (stop_reason max_tokens); "
                      "nothing of it was applied")
    try:
        answer = parse_answer(text, ctx.phase)
    except ModelAnswerError as exc:
        return None, str(exc)
    if ctx.phase.check:
        problems = ctx.phase.check(answer, ctx.plan, before)
        if problems:
            return None, "; ".join(problems)
    return answer, ""


def _repair_prompt(problem: str) -> str:
    return (f"Your answer could not be applied, so nothing of it was written: {problem}\n\n"
            "Answer again with the complete set of <file path=\"...\"> blocks for this phase (full file contents, "
            "each closing </file> on its own line), within the output limit, then one <summary>.")


def _package_tree(ctx: _Context) -> tuple[dict[str, str], set[str]]:
    """What the package directory must hold now: every stored artifact folded in phase order, and every path any of
    them ever wrote (so a file no phase writes any more is removed). Later phases win, so rerunning an earlier phase
    never leaves a stale version of a file a later phase rewrote."""
    artifacts = [a for p in ctx.phases if (a := ctx.store.load(p.slug)) is not None and a.status in (ANSWERED, COMMITTED)]
    managed = {path for a in artifacts for path in (*a.files, *a.deletes)}
    return fold_files(artifacts), managed


def _check_package_clean(ctx: _Context, workspace: Workspace) -> None:
    """Refuse to overwrite changes generation did not make; a half-finished apply of our own is ours to finish."""
    desired, managed = _package_tree(ctx)
    package_dir = ctx.config.workspace_root / ctx.plan.package_path
    foreign = []
    for path in workspace.changed_paths(ctx.plan.package_path):
        on_disk = package_dir / path
        ours = path in managed and (
            (path in desired and on_disk.is_file() and on_disk.read_text(encoding="utf-8", errors="replace") == desired[path])
            or (path not in desired and not on_disk.exists()))
        if not ours:
            foreign.append(path)
    if foreign:
        raise WorkspaceError(f"{ctx.plan.package_path} has changes generation did not make ({', '.join(foreign[:5])}"
                             f"{', …' if len(foreign) > 5 else ''}): commit or stash them, then run again")


def _commit_message(ctx: _Context, artifact: PhaseArtifact, title: str = "") -> str:
    files = "\n".join(f"- {path}" for path in sorted(artifact.files)) or "- (no files)"
    deletes = "".join(f"\n- deleted {path}" for path in artifact.deletes)
    title = title or f"feat({ctx.phase.kebab}): complete {ctx.phase.name} phase for {ctx.plan.package_name}"
    return (f"{title}\n\n"
            f"{artifact.summary or ctx.phase.description}\n\nFiles:\n{files}{deletes}\n\n"
            f"[Turn-based generation step {ctx.phase.number}]\n\n"
            f"Phase: {ctx.phase.slug}\nPackage: {ctx.plan.package_name}\nInputs-Digest: {artifact.inputs_digest}\n")


def _record_step(state: GenerationState, ctx: _Context, artifact: PhaseArtifact, reused: bool) -> None:
    state.data.update(currentPhase=ctx.phase.name, currentStepNumber=ctx.phase.number)
    state.complete_step({
        "stepNumber": ctx.phase.number,
        "phase": ctx.phase.name,
        "description": ctx.phase.description,
        "files": sorted(artifact.files),
        "commit": artifact.commit,
        "timestamp": now_iso(),
        "claudeTokensUsed": artifact.input_tokens + artifact.output_tokens,
        "inputTokens": artifact.input_tokens,
        "outputTokens": artifact.output_tokens,
        "modelCalls": len(artifact.calls),
        "status": artifact.status,
    })


def _skip(ctx: _Context, state: GenerationState, out) -> dict:
    artifact = PhaseArtifact(phase=ctx.phase.name, number=ctx.phase.number, task_name=ctx.plan.task_name,
                             package_name=ctx.plan.package_name, inputs_digest=digest_of({"skipped": True}),
                             inputs={"skipped": True}, status=SKIPPED, started_at=now_iso())
    ctx.store.save(ctx.phase.slug, artifact)
    _record_step(state, ctx, artifact, reused=False)
    _say(out, f"{ctx.label()}  skipped (turnBasedGeneration in the config)")
    return {"phase": ctx.phase.name, "skipped": True}


def _merge(ctx: _Context, state: GenerationState, workspace: Workspace, out, started: float) -> dict:
    """MERGE: every earlier phase is done and committed, the package is clean, and the branch is ready to merge."""
    earlier = [p for p in ctx.phases if p.number < ctx.phase.number]
    missing = [p.name for p in earlier if (a := ctx.store.load(p.slug)) is None or a.status not in (COMMITTED, SKIPPED)]
    if missing:
        raise PhaseFailed(f"{ctx.label()}: phases not finished: {', '.join(missing)}")
    state.start_step(ctx.phase.number, ctx.phase.name)
    with workspace.locked():
        workspace.checkout_branch(state.branch, state.base_branch or workspace.current_branch())
        _check_package_clean(ctx, workspace)
        head = workspace.head_sha()
        ahead = workspace.commits_between(state.base_branch, state.branch) if state.base_branch else 0
    artifact = PhaseArtifact(phase=ctx.phase.name, number=ctx.phase.number, task_name=ctx.plan.task_name,
                             package_name=ctx.plan.package_name,
                             inputs_digest=digest_of({"head": head}), inputs={"head": head, "branch": state.branch},
                             status=COMMITTED, summary=f"{state.branch} is {ahead} commit(s) ahead of {state.base_branch}",
                             commit=None, started_at=now_iso())
    ctx.store.save(ctx.phase.slug, artifact)
    _record_step(state, ctx, artifact, reused=False)
    state.data["mergeReady"] = {"branch": state.branch, "baseBranch": state.base_branch, "head": head, "commitsAhead": ahead}
    state.finish()
    _say(out, f"{ctx.label()}  branch {state.branch} ready to merge into {state.base_branch} "
              f"({ahead} commits), {time.monotonic() - started:.1f} s")
    return {"phase": ctx.phase.name, "branch": state.branch, "head": head}


def summarize(job: PhaseJob, phases: tuple[PhaseSpec, ...], out=sys.stdout) -> dict:
    """The closing lines of `doit generate:<name>`: files, tokens, model time, branch."""
    config = load_config(job.config_path, tuple(p.name for p in phases))
    plan = parse_plan(job.plan_path)
    store = ArtifactStore(config.workspace_root, plan.task_name)
    artifacts = [a for p in phases if (a := store.load(p.slug)) is not None]
    files = fold_files(artifacts)
    state = GenerationState.open(config.workspace_root, plan, None, config.git.branch_prefix)
    tokens_in = sum(a.input_tokens for a in artifacts)
    tokens_out = sum(a.output_tokens for a in artifacts)
    seconds = sum(a.model_seconds for a in artifacts)
    done = sum(1 for a in artifacts if a.status in (COMMITTED, SKIPPED))
    _say(out, f"[{plan.task_name}] {plan.package_name}: {done}/{len(phases)} phases done, {len(files)} files in "
              f"{plan.package_path}, tokens {tokens_in} in / {tokens_out} out, model time {seconds:.1f} s, "
              f"branch {state.data.get('branch')}, state {state.path}")
    return {"phasesDone": done, "files": len(files), "inputTokens": tokens_in, "outputTokens": tokens_out,
            "branch": state.data.get("branch")}


def _say(out, line: str) -> None:
    print(line, file=out, flush=True)

