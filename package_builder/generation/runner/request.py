"""A phase's request to the model: the rendered prompt and the digest of everything that went into it, then the
call itself, re-asked with the problem when an answer is truncated or invalid.

`prepare` is pure (it reads templates and stored artifacts, never runs a check or calls the model), so a test can ask
what a phase would send under any config, and the inputs digest is the same on every engine.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from package_builder.base.digest import digest_of, digest_text
from package_builder.base.errors import ModelAnswerError, ModelRequestRefused, PhaseFailed
from package_builder.generation.answer import ModelAnswer, parse_answer
from package_builder.generation.artifacts import ANSWERED, COMMITTED, SKIPPED, ModelCall, PhaseArtifact, fold_files
from package_builder.generation.graph import type_check_source
from package_builder.generation.progress import board
from package_builder.generation.providers import ModelProvider, ModelRequest
from package_builder.generation.runner.budget import Budget
from package_builder.generation.runner.context import TEST_RUNNER, PhaseContext
from package_builder.generation.state import now_iso
from package_builder.generation.suite import without_api_text
from package_builder.generation.templates import (
    FILE_TEMPLATE,
    SYSTEM_TEMPLATE,
    TASK_TEMPLATE,
    PromptRenderer,
    template_digests,
)

CACHED = {"type": "ephemeral"}  # a prompt-cache breakpoint: the API caches the request up to this block


@dataclass(frozen=True)
class PreparedRequest:
    """What a phase sends and the digest of all its inputs. Laid out for the API's prompt cache: what every phase of
    the package shares first (system: instructions, quality bar, plan), then the package so far (one block per file,
    unchanged files first), then the phase's own task last."""

    system: str
    files: tuple[str, ...]  # rendered file blocks, in `file_order`
    task: str
    inputs: dict
    inputs_digest: str
    view: dict[str, str]  # the package as the phase finds it (its upstream folded)
    rendered_files: dict[str, str]
    template_context: dict

    def system_blocks(self) -> tuple[dict, ...]:
        return ({"type": "text", "text": self.system, "cache_control": CACHED},)

    def user_content(self) -> list[dict]:
        """The files, then the task. Cache breakpoints (3, with the system's the API's maximum of 4) end the first
        third, two thirds and all of the files: the next phase shares our prefix up to the first file it sees
        changed, and finds an entry there when one of our breakpoints is at or before it."""
        blocks: list[dict] = [{"type": "text", "text": text} for text in self.files]
        for index in sorted({len(blocks) * k // 3 - 1 for k in (1, 2, 3)} - {-1}):
            blocks[index] = {**blocks[index], "cache_control": CACHED}
        return [*blocks, {"type": "text", "text": self.task}]


def prepare(ctx: PhaseContext) -> PreparedRequest:
    upstream = _upstream(ctx)
    view = fold_files(upstream)
    rendered_files = _render_files(ctx)
    source = type_check_source(ctx.phases, ctx.phase)
    type_check = stored_type_check(ctx, source) if source else None
    context = {**template_context(ctx, view, rendered_files), "type_check": type_check}
    renderer = PromptRenderer(ctx.project.prompts)
    system = renderer.render(SYSTEM_TEMPLATE, context)
    files = file_blocks(renderer, view, file_order(upstream))
    task = renderer.render(TASK_TEMPLATE, context)
    # The siblings' API text stands in the digest by the APIs' own digests: a sibling's comment, body or README
    # prose changes what the model reads, but not what it must write, and asks nothing again.
    apis = {d.name: d.api.digest for d in ctx.plan.workspace_dependencies if d.api is not None}
    digested = renderer.render(SYSTEM_TEMPLATE, {**context, "plan": without_api_text(ctx.plan)}) if apis else system
    inputs = {
        "promptDigest": digest_text("\0".join((digested, *files, task))),
        "templates": template_digests(ctx.project.prompts, ctx.phase),
        "plan": digest_text(ctx.plan.body),
        "upstream": {a.phase: a.output_digest for a in upstream},
        "renderedFiles": digest_of(rendered_files),
        # What shapes the request itself. doit's key (graph.rerun_key) is wider: a change there reruns the task,
        # and an unchanged request here then reuses the stored answer for free.
        "model": ctx.settings.model,
        "maxTokens": ctx.settings.max_tokens,
        "temperature": ctx.settings.temperature,
        "writeAllowlist": list(ctx.phase.write_allowlist),
        "typeCheck": digest_of(type_check) if type_check else None,
        **(
            {"dependencyApis": apis} if apis else {}
        ),  # absent without siblings: the example's digests stay as they were
    }
    return PreparedRequest(
        system=system,
        files=files,
        task=task,
        inputs=inputs,
        inputs_digest=digest_of(inputs),
        view=view,
        rendered_files=rendered_files,
        template_context=context,
    )


def file_order(artifacts: list[PhaseArtifact]) -> dict[str, int]:
    """Path → the number of the last phase that wrote it: files sorted by it keep what earlier phases wrote (and
    nobody rewrote since) in front, so successive phases share the longest cached prefix."""
    origin: dict[str, int] = {}
    for artifact in sorted(artifacts, key=lambda a: a.number):
        for path in artifact.files:
            origin[path] = artifact.number
    return origin


def file_blocks(renderer: PromptRenderer, view: dict[str, str], origin: dict[str, int]) -> tuple[str, ...]:
    """One rendered block per file of `view`, unchanged files first; a single block saying so when there is none."""
    if not view:
        return (renderer.render(FILE_TEMPLATE, {"path": None, "content": "", "first": True}),)
    ordered = sorted(view, key=lambda path: (origin.get(path, 0), path))
    return tuple(
        renderer.render(FILE_TEMPLATE, {"path": path, "content": view[path], "first": index == 0})
        for index, path in enumerate(ordered)
    )


def stored_type_check(ctx: PhaseContext, phase) -> dict | None:
    """The type-check result stored in `phase`'s artifact, when the config has checks between phases on."""
    checks = ctx.config.build_validation
    if not (checks.enabled and checks.type_check_between_phases):
        return None
    artifact = ctx.store.load(phase.slug)
    return artifact.type_check if artifact is not None and artifact.status == COMMITTED else None


def template_context(ctx: PhaseContext, view: dict[str, str], rendered_files: dict[str, str]) -> dict:
    return {
        "plan": ctx.plan,
        "phase": ctx.phase,
        "max_tokens": ctx.settings.max_tokens,
        "files": view,
        "rendered_files": rendered_files,
        "quality": {"coverage_target": ctx.coverage_target, "test_runner": TEST_RUNNER},
        "dependencies": ctx.plan.dependencies,
        "report": None,
        "type_check": None,
        "attempt": 0,
        "max_attempts": ctx.settings.max_repair_attempts,
    }


def _upstream(ctx: PhaseContext) -> list[PhaseArtifact]:
    artifacts = []
    for name in ctx.phase.reads:
        phase = next(p for p in ctx.phases if p.name == name)
        artifact = ctx.store.load(phase.slug)
        if artifact is None or artifact.status not in (COMMITTED, SKIPPED):
            raise PhaseFailed(
                f"{ctx.label()} needs the output of {name}, which has not finished: "
                f"run `doit generate:{ctx.plan.task_name}`"
            )
        artifacts.append(artifact)
    return artifacts


def _render_files(ctx: PhaseContext) -> dict[str, str]:
    """Files the code renders itself (no tokens spent), e.g. FOUNDATION's tsconfig and test config."""
    if not ctx.phase.rendered_files or ctx.phase.runs_checks:  # BUILD_VALIDATION renders its report after the checks
        return {}
    renderer = PromptRenderer(ctx.project.prompts)
    context = {
        "package_name": ctx.plan.package_name,
        "category": ctx.plan.category,
        "coverage_target": ctx.coverage_target,
    }
    return {path: renderer.render(template, context) for path, template in ctx.phase.rendered_files.items()}


def ask_model(ctx: PhaseContext, model: ModelProvider, request: PreparedRequest, budget: Budget) -> PhaseArtifact:
    """Call the model; continue an answer cut off at `max_tokens` (up to `model.maxContinuations`), and re-ask with
    the problem when an answer is invalid (up to `model.maxAnswerRepairs`). Every call is checked against the budgets
    first and charged after. Returns an ANSWERED artifact (its files include the phase's rendered files)."""
    before = request.view
    messages: list[dict] = [{"role": "user", "content": request.user_content()}]
    calls: list[ModelCall] = []
    started_at = now_iso()
    attempts = ctx.config.model.max_answer_repairs + 1
    problem = ""
    for attempt in range(1, attempts + 1):
        text, stop_reason = _answer_in_full(ctx, model, request.system_blocks(), messages, calls, attempt, budget)
        answer, problem = _judge(ctx, text, stop_reason, before)
        if answer is not None:
            if answer.dropped:
                ctx.say(
                    f"dropped {len(answer.dropped)} block(s) this phase does not write: {'; '.join(answer.dropped)}"[
                        :400
                    ]
                )
            return ctx.new_artifact(
                request.inputs,
                request.inputs_digest,
                ANSWERED,
                files={**request.rendered_files, **answer.files},
                deletes=list(answer.deletes),
                summary=answer.summary,
                raw_answer=text,
                calls=calls,
                dropped=list(answer.dropped),
                model_seconds=round(sum(c.seconds for c in calls), 3),
                started_at=started_at,
            )
        calls[-1] = replace(calls[-1], problem=problem)
        messages += [
            {"role": "assistant", "content": text or "(empty)"},
            {"role": "user", "content": _repair_prompt(problem)},
        ]
        ctx.say(f"answer {attempt}/{attempts} not applied ({problem[:200]}); asking again")
    raise ModelAnswerError(f"no usable answer after {attempts} attempt(s); last problem: {problem}")


def _answer_in_full(
    ctx: PhaseContext,
    model: ModelProvider,
    system: tuple[dict, ...],
    messages: list[dict],
    calls: list[ModelCall],
    attempt: int,
    budget: Budget,
) -> tuple[str, str]:
    """One answer, continued from where it stopped while it is cut off at `max_tokens`: the partial text goes back
    as the start of the assistant's turn (a prefill), so the next call pays only for the rest; a model that refuses
    prefills gets a follow-up turn asking for exactly the rest instead. Returns (joined text, last stop reason)."""
    text, stop_reason, prefill = "", "", True
    for continuation in range(ctx.config.model.max_continuations + 1):
        if not continuation:
            turn = messages
        elif prefill:
            turn = [*messages, {"role": "assistant", "content": text.rstrip()}]
        else:
            turn = [
                *messages,
                {"role": "assistant", "content": text.rstrip()},
                {"role": "user", "content": _CONTINUE_PROMPT},
            ]
        call = ModelRequest(
            model=ctx.settings.model,
            system=system,
            messages=tuple(turn),
            max_tokens=ctx.settings.max_tokens,
            temperature=ctx.settings.temperature,
        )
        try:
            reply = _paid_call(ctx, model, call, budget)
        except ModelRequestRefused:
            if not (continuation and prefill):
                raise
            prefill = False  # this model takes no prefill: ask for the rest in a turn of its own
            call = replace(call, messages=(*turn, {"role": "user", "content": _CONTINUE_PROMPT}))
            reply = _paid_call(ctx, model, call, budget)
        text = (text.rstrip() if continuation and prefill else text) + reply.text
        stop_reason = reply.stop_reason
        calls.append(
            ModelCall(
                attempt=attempt,
                request_digest=call.digest,
                stop_reason=reply.stop_reason,
                input_tokens=reply.input_tokens,
                output_tokens=reply.output_tokens,
                seconds=reply.seconds,
                problem="continued" if stop_reason == "max_tokens" else "",
                cache_write_tokens=reply.cache_write_tokens,
                cache_read_tokens=reply.cache_read_tokens,
                cost_usd=_cost(ctx, reply),
            )
        )
        if stop_reason != "max_tokens":
            break
        if continuation < ctx.config.model.max_continuations:
            ctx.say(
                f"answer cut off at {ctx.settings.max_tokens} tokens; continuing it "
                f"({continuation + 1}/{ctx.config.model.max_continuations})"
            )
    return text, stop_reason


def _judge(ctx: PhaseContext, text: str, stop_reason: str, before: dict[str, str]) -> tuple[ModelAnswer | None, str]:
    if stop_reason == "max_tokens":
        return None, (
            f"the answer was cut off at the {ctx.settings.max_tokens}-token limit (stop_reason max_tokens) "
            f"even after {ctx.config.model.max_continuations} continuation(s); nothing of it was applied: "
            "write less (shorter files, fewer comments)"
        )
    try:
        answer = parse_answer(text, ctx.phase)
    except ModelAnswerError as exc:
        return None, str(exc)
    if ctx.phase.check:
        problems = ctx.phase.check(answer, ctx.plan, before)
        if problems:
            return None, "; ".join(problems)
    return answer, ""


def _paid_call(ctx: PhaseContext, model: ModelProvider, call: ModelRequest, budget: Budget):
    """One model call inside the budgets: checked against its worst case before, charged its real cost after."""
    texts = [_text(call.system), *(_text(message["content"]) for message in call.messages)]
    budget.check(budget.worst_case(texts, call.max_tokens))
    with board(ctx.config.model.progress_every_seconds).watching(ctx.label(), call.max_tokens) as watch:
        model.watch = watch
        try:
            reply = model.call(call, ctx.phase.name)
        finally:
            model.watch = None
    budget.charge(_cost(ctx, reply))
    return reply


def _cost(ctx: PhaseContext, reply) -> float:
    return round(
        ctx.prices.cost(reply.input_tokens, reply.output_tokens, reply.cache_write_tokens, reply.cache_read_tokens), 6
    )


def _text(content) -> str:
    if isinstance(content, str):
        return content
    return "".join(block.get("text", "") for block in content if isinstance(block, dict))


_CONTINUE_PROMPT = (
    "Your answer was cut off at the output limit. Continue it exactly where it stopped: start with "
    "the next character, repeat nothing, and keep the same format."
)


def _repair_prompt(problem: str) -> str:
    return (
        f"Your answer could not be applied, so nothing of it was written: {problem}\n\n"
        'Answer again with the complete set of <file path="..."> blocks for this phase (full file contents, '
        "each closing </file> on its own line), within the output limit, then one <summary>."
    )
