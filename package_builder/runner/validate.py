"""BUILD_VALIDATION: run the real checks on what the earlier phases wrote; on failure, give the model the real output
and let it repair, each attempt its own commit, within the configured bounds. The report is the truth, never the
model."""
from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

from ..artifacts import ANSWERED, COMMITTED, FAILED, SKIPPED, PhaseArtifact, fold_files
from ..errors import PhaseFailed
from ..model import make_model
from ..state import GenerationState
from ..templates import TASK_TEMPLATE, PromptRenderer
from ..toolchain import ValidationReport, validate_package
from ..workspace import Workspace
from .budget import Budget
from .context import PhaseContext
from .request import PreparedRequest, ask_model, file_blocks, file_order


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


def build_validation(ctx: PhaseContext, state: GenerationState, workspace: Workspace, request: PreparedRequest,
                     started: float) -> dict:
    settings = ctx.config.build_validation
    state.start_step(ctx.phase.number, ctx.phase.name)
    earlier = [a for p in ctx.phases if p.number < ctx.phase.number
               and (a := ctx.store.load(p.slug)) is not None and a.status in (COMMITTED, SKIPPED)]
    view, origin = fold_files(earlier), file_order(earlier)
    toolchain = ctx.toolchain()
    renderer = PromptRenderer(ctx.project.prompts)
    repairs = ctx.new_artifact(request.inputs, request.inputs_digest, ANSWERED)
    repairs_left = RepairsLeft(settings.max_repair_attempts, dict(settings.max_attempts_per_failure))
    model, history, exhausted = None, [], ""
    budget = Budget(ctx.config.budget, ctx.prices, state)
    for attempt in range(settings.max_repair_attempts + 1):
        with workspace.on_branch(state):
            ctx.check_package_clean(workspace)
            managed = {path for a in earlier for path in (*a.files, *a.deletes)} | set(repairs.files)
            workspace.apply(ctx.plan.package_path, view, sorted(managed - set(view)))
            report = validate_package(toolchain, ctx.coverage_target)
        history.append(report.to_json())
        ctx.say(f"checks {'green' if report.green else 'red: ' + report.problem} "
                f"({', '.join(f'{s.step} {s.exit_code}' for s in report.steps) or 'no command ran'})")
        if report.green or report.failure == "environment" or attempt == settings.max_repair_attempts:
            break
        exhausted = repairs_left.refusal(report.failure)
        if exhausted:
            break
        repairs_left.spend(report.failure)
        model = model or make_model(ctx.config, ctx.config_path, ctx.say)
        context = {**request.template_context, "files": view, "report": report, "attempt": attempt + 1}
        answer = ask_model(ctx, model, replace(request, files=file_blocks(renderer, view, origin), view=view,
                                               task=renderer.render(TASK_TEMPLATE, context)), budget)
        origin.update({path: ctx.phase.number for path in answer.files})
        repairs = replace(repairs, calls=[*repairs.calls, *answer.calls], files={**repairs.files, **answer.files},
                          deletes=sorted(set(repairs.deletes) - set(answer.files) | set(answer.deletes)))
        view = {path: content for path, content in {**view, **answer.files}.items() if path not in answer.deletes}
        with workspace.on_branch(state):
            workspace.apply(ctx.plan.package_path, answer.files, list(answer.deletes))
            workspace.commit(ctx.plan.package_path, ctx.commit_message(
                answer, f"fix({ctx.phase.kebab}): repair attempt {attempt + 1} for {ctx.plan.package_name} "
                        f"({report.failure})"))
    return _finish(ctx, state, workspace, renderer, repairs, report, history, toolchain.manager, exhausted, started)


def _finish(ctx: PhaseContext, state: GenerationState, workspace: Workspace, renderer: PromptRenderer,
            repairs: PhaseArtifact, report: ValidationReport, history: list, manager: str, exhausted: str,
            started: float) -> dict:
    """Render BUILD_VALIDATION.md from the real outcome, commit it, and end green or with the report."""
    report_context = {"report": report, "attempts": len(history) - 1, "manager": manager,
                      "package_name": ctx.plan.package_name}
    files = {**repairs.files, **{path: renderer.render(template, report_context)
                                 for path, template in ctx.phase.rendered_files.items()}}
    repairs = replace(repairs, files=files, validation={"green": report.green, "attempts": history},
                      model_seconds=round(sum(c.seconds for c in repairs.calls), 3),
                      status=ANSWERED if report.green else FAILED)
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
        why = ("stopped on an environment problem, no model call spent" if report.failure == "environment"
               else f"the package is still red after {len(history) - 1} repair attempt(s){exhausted}")
        raise PhaseFailed(f"{ctx.label()}: {why}: {report.problem} "
                          f"(see {ctx.plan.package_path}/BUILD_VALIDATION.md)\n{last}")
    repairs = replace(repairs, status=COMMITTED)
    ctx.store.save(ctx.phase.slug, repairs)
    ctx.record_step(state, repairs)
    ctx.say(f"green after {len(history) - 1} repair attempt(s), {len(repairs.calls)} call(s), ${repairs.cost_usd:.4f}, "
            f"{time.monotonic() - started:.2f} s, {'commit ' + commit[:10] if commit else 'no changes, no commit'}")
    return {"phase": ctx.phase.name, "green": True, "commit": commit, "repairs": len(history) - 1}
