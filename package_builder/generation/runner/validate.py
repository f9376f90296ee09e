"""BUILD_VALIDATION: run the real checks on what the earlier phases wrote; on failure, give the model the real output
and let it repair, each attempt its own commit, within the configured bounds. The report is the truth, never the
model.

A repair is paid for once: each answer is saved in the phase's artifact (status `answered`, keyed like every phase by
its inputs digest, each repair with its request digest) before the next check runs, since that check (an install,
tsc, the tests) takes minutes and may be killed. A run that finds such an artifact for the same inputs goes on from
the repairs it holds, with no model call for them; so does a run after a stop on an environment problem.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

from package_builder.base.errors import PhaseFailed
from package_builder.generation.artifacts import ANSWERED, COMMITTED, FAILED, SKIPPED, PhaseArtifact, fold_files
from package_builder.generation.providers import make_model
from package_builder.generation.runner.budget import Budget
from package_builder.generation.runner.context import PhaseContext
from package_builder.generation.runner.request import PreparedRequest, ask_model, file_blocks, file_order
from package_builder.generation.state import GenerationState
from package_builder.generation.templates import TASK_TEMPLATE, PromptRenderer
from package_builder.generation.validation import ValidationReport, validate_package
from package_builder.generation.writer import Workspace


@dataclass
class RepairsLeft:
    """Repair attempts left, in all and per failure kind (`buildValidation.maxAttemptsPerFailure`)."""

    total: int
    per_kind: dict[str, int]
    spent: dict[str, int] = field(default_factory=dict)

    def refusal(self, kind: str) -> str:
        """Why no further repair is allowed for a failure of `kind` ("" when one is)."""
        limit = self.per_kind.get(kind, self.total)
        if self.spent.get(kind, 0) >= limit:
            return f" (buildValidation.maxAttemptsPerFailure allows {limit} for {kind} failures)"
        return ""

    def spend(self, kind: str) -> None:
        self.spent[kind] = self.spent.get(kind, 0) + 1


def build_validation(
    ctx: PhaseContext, state: GenerationState, workspace: Workspace, request: PreparedRequest, started: float
) -> dict:
    settings = ctx.config.build_validation
    state.start_step(ctx.phase.number, ctx.phase.name)
    earlier = [
        a
        for p in ctx.phases
        if p.number < ctx.phase.number
        and (a := ctx.store.load(p.slug)) is not None
        and a.status in (COMMITTED, SKIPPED)
    ]
    toolchain = ctx.toolchain()
    renderer = PromptRenderer(ctx.project.prompts)
    stored = ctx.store.load(ctx.phase.slug)
    repairs = _paid_before(ctx, request, stored) or ctx.new_artifact(
        request.inputs, request.inputs_digest, ANSWERED, validation={"repairs": []}
    )
    paid = list(repairs.validation["repairs"])
    history = list(repairs.validation.get("attempts", []))[: len(paid)]  # the reports that led to the paid repairs
    view = {
        path: content
        for path, content in {**fold_files(earlier), **repairs.files}.items()
        if path not in repairs.deletes
    }
    origin = {**file_order(earlier), **{path: ctx.phase.number for path in repairs.files}}
    # Every path this phase ever wrote (a stale repair too) that the package must not hold now is removed.
    managed = {path for a in [*earlier, *([stored] if stored else [])] for path in (*a.files, *a.deletes)}
    repairs_left = RepairsLeft(settings.max_repair_attempts, dict(settings.max_attempts_per_failure.items()))
    for repair in paid:
        repairs_left.spend(repair["failure"])
    if paid:
        ctx.say(
            f"goes on after {len(paid)} repair attempt(s) an earlier run paid for: their answers are reused, "
            "no model call for them"
        )
        with workspace.on_branch(state):  # the run may have been killed between saving a repair and committing it
            ctx.check_package_clean(workspace)
            workspace.apply(ctx.plan.package_path, view, sorted(managed - set(view)))
            workspace.commit(ctx.plan.package_path, ctx.commit_message(repairs, _repair_title(ctx, paid[-1])))
    model, exhausted, attempt = None, "", len(paid)
    budget = Budget(ctx.config.budget, ctx.prices, state, ctx.run.budget)
    while True:
        with workspace.on_branch(state):
            ctx.check_package_clean(workspace)
            managed |= set(repairs.files)
            workspace.apply(ctx.plan.package_path, view, sorted(managed - set(view)))
            report = validate_package(toolchain, ctx.coverage_target)
        history.append(report.to_json())
        ctx.say(
            f"checks {'green' if report.green else 'red: ' + report.problem} "
            f"({', '.join(f'{s.step} {s.exit_code}' for s in report.steps) or 'no command ran'})"
        )
        if report.green or report.failure == "environment" or attempt >= settings.max_repair_attempts:
            break
        assert report.failure is not None  # not green: the report names its first failing step's kind
        exhausted = repairs_left.refusal(report.failure)
        if exhausted:
            break
        repairs_left.spend(report.failure)
        model = model or make_model(ctx.config, ctx.config_path, ctx.say)
        context = {**request.template_context, "files": view, "report": report, "attempt": attempt + 1}
        answer = ask_model(
            ctx,
            model,
            replace(
                request,
                files=file_blocks(renderer, view, origin),
                view=view,
                task=renderer.render(TASK_TEMPLATE, context),
            ),
            budget,
        )
        attempt += 1
        paid.append(
            {
                "attempt": attempt,
                "failure": report.failure,
                "requestDigest": answer.calls[0].request_digest,
                "files": sorted(answer.files),
                "deletes": sorted(answer.deletes),
            }
        )
        files = {
            path: content for path, content in {**repairs.files, **answer.files}.items() if path not in answer.deletes
        }
        repairs = replace(
            repairs,
            calls=[*repairs.calls, *answer.calls],
            files=files,
            deletes=sorted(set(repairs.deletes) - set(answer.files) | set(answer.deletes)),
            validation={"repairs": paid, "attempts": history},
            model_seconds=round(sum(c.seconds for c in [*repairs.calls, *answer.calls]), 3),
        )
        ctx.store.save(ctx.phase.slug, repairs)  # paid for: saved before the next check, which may be killed
        origin.update({path: ctx.phase.number for path in answer.files})
        view = {path: content for path, content in {**view, **answer.files}.items() if path not in answer.deletes}
        with workspace.on_branch(state):
            workspace.apply(ctx.plan.package_path, answer.files, list(answer.deletes))
            workspace.commit(ctx.plan.package_path, ctx.commit_message(answer, _repair_title(ctx, paid[-1])))
    return _finish(ctx, state, workspace, renderer, repairs, report, history, toolchain.manager, exhausted, started)


def _paid_before(ctx: PhaseContext, request: PreparedRequest, stored: PhaseArtifact | None) -> PhaseArtifact | None:
    """The repairs an earlier run paid for with these very inputs and did not finish checking (it was killed, or
    stopped on an environment problem), without the report it rendered; None when there are none to go on from."""
    if (
        stored is None
        or stored.status != ANSWERED
        or stored.inputs_digest != request.inputs_digest
        or not isinstance(stored.validation.get("repairs"), list)
    ):
        return None
    rendered = ctx.phase.rendered_files
    return replace(stored, files={path: content for path, content in stored.files.items() if path not in rendered})


def _repair_title(ctx: PhaseContext, repair: dict) -> str:
    return (
        f"fix({ctx.phase.kebab}): repair attempt {repair['attempt']} for {ctx.plan.package_name} ({repair['failure']})"
    )


def _finish(
    ctx: PhaseContext,
    state: GenerationState,
    workspace: Workspace,
    renderer: PromptRenderer,
    repairs: PhaseArtifact,
    report: ValidationReport,
    history: list,
    manager: str,
    exhausted: str,
    started: float,
) -> dict:
    """Render BUILD_VALIDATION.md from the real outcome, commit it, and end green or with the report."""
    report_context = {
        "report": report,
        "attempts": len(history) - 1,
        "manager": manager,
        "package_name": ctx.plan.package_name,
    }
    files = {
        **repairs.files,
        **{path: renderer.render(template, report_context) for path, template in ctx.phase.rendered_files.items()},
    }
    # A stop on an environment problem stays `answered`: the next run goes on from the repairs paid for so far.
    repairs = replace(
        repairs,
        files=files,
        validation={"green": report.green, "attempts": history, "repairs": repairs.validation.get("repairs", [])},
        model_seconds=round(sum(c.seconds for c in repairs.calls), 3),
        status=ANSWERED if report.green or report.failure == "environment" else FAILED,
    )
    ctx.store.save(ctx.phase.slug, repairs)
    with workspace.on_branch(state):
        if report.green:
            desired, managed = ctx.package_tree()
            workspace.apply(ctx.plan.package_path, desired, sorted(managed - set(desired)))
        else:
            workspace.apply(ctx.plan.package_path, {p: files[p] for p in ctx.phase.rendered_files}, [])
        commit = workspace.commit(ctx.plan.package_path, ctx.commit_message(repairs))
    repairs = replace(repairs, commit=commit)
    if not report.green:
        ctx.store.save(ctx.phase.slug, repairs)
        last = report.steps[-1].output if report.steps else ""
        calls = len(repairs.calls)
        why = (
            f"the package is still red after {len(history) - 1} repair attempt(s){exhausted}"
            if report.failure != "environment"
            else "stopped on an environment problem, no model call spent"
            if not calls
            else f"stopped on an environment problem after {calls} paid repair call(s), "
            f"${repairs.cost_usd:.4f} (kept: the next run goes on from them without asking again)"
        )
        raise PhaseFailed(
            f"{ctx.label()}: {why}: {report.problem} (see {ctx.plan.package_path}/BUILD_VALIDATION.md)\n{last}"
        )
    repairs = replace(repairs, status=COMMITTED)
    ctx.store.save(ctx.phase.slug, repairs)
    ctx.record_step(state, repairs)
    ctx.say(
        f"green after {len(history) - 1} repair attempt(s), {len(repairs.calls)} call(s), ${repairs.cost_usd:.4f}, "
        f"{time.monotonic() - started:.2f} s, {'commit ' + commit[:10] if commit else 'no changes, no commit'}"
    )
    return {"phase": ctx.phase.name, "green": True, "commit": commit, "repairs": len(history) - 1}
