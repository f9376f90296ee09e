"""doit task graph: every plan × every phase becomes a task; doit only schedules, `package_builder` does the work.

    generate                          all plans (`doit -n 2 generate`: two packages at once)
    └── generate:<plan>               one package: its 15 phases in order, then a summary
        ├── generate:<plan>:01-planning      target .generation-state/<plan>/01-planning.json
        ├── ...                              file_dep: plan, templates, phase module, upstream artifacts
        └── generate:<plan>:summary

Load time stays light (stdlib + doit): the SDK, pydantic, Jinja2 and GitPython are imported inside the actions.
"""
from pathlib import Path

from doit.exceptions import TaskFailed
from doit.reporter import ConsoleReporter
from doit.tools import config_changed

from package_builder.errors import PackageBuilderError
from package_builder.paths import ProjectPaths, artifact_path, read_raw_config, workspace_root_of
from package_builder.plan import discover_plans, parse_plan
from package_builder.templates import SYSTEM_TEMPLATE, template_sources
from phases import PHASES, module_file


class PhaseReporter(ConsoleReporter):
    """doit's console output, minus the `.  task` line of generation tasks: they print their own progress line."""

    def execute_task(self, task):
        if not task.name.startswith("generate:"):
            super().execute_task(task)


DOIT_CONFIG = {"backend": "sqlite3", "dep_file": ".package-builder.doit.db", "verbosity": 2, "reporter": PhaseReporter}
PROJECT = ProjectPaths(Path(__file__).resolve().parent)


def run_phase(config_path, plan_path, phase_name):
    """doit action: run one phase; a `PackageBuilderError` becomes a clean TaskFailed (no traceback)."""
    from package_builder.runner import PhaseJob, run_phase as run

    try:
        return run(PhaseJob(PROJECT.root, Path(config_path), Path(plan_path), phase_name), PHASES)
    except PackageBuilderError as exc:
        return TaskFailed(str(exc))


def summarize(config_path, plan_path):
    from package_builder.runner import PhaseJob, summarize as summary

    try:
        return summary(PhaseJob(PROJECT.root, Path(config_path), Path(plan_path), "MERGE"), PHASES)
    except PackageBuilderError as exc:
        return TaskFailed(str(exc))


def fail(message):
    return TaskFailed(message)


def task_generate():
    """Generate packages from plans/packages/<category>/<name>.md."""
    config_path = PROJECT.config
    raw = read_raw_config(config_path) or {}
    workspace = workspace_root_of(config_path, raw)
    turn_based = raw.get("turnBasedGeneration") if isinstance(raw.get("turnBasedGeneration"), dict) else {}
    model = raw.get("model") if isinstance(raw.get("model"), dict) else {}
    try:
        plan_paths = discover_plans(PROJECT.plans)
    except PackageBuilderError as exc:
        yield {"basename": "generate", "doc": "(plans folder has an error)", "actions": [(fail, [str(exc)])]}
        return
    # What a phase depends on besides the plan and upstream artifacts is the same for every plan: compute it once.
    phase_files = {phase.name: [str(PROJECT.phases / module_file(phase))] + [
        str(path) for template in ([SYSTEM_TEMPLATE, phase.template, *phase.rendered_files.values()]
                                   if phase.calls_model else [])
        for path in template_sources(PROJECT.prompts, template)] for phase in PHASES}
    phase_settings = {phase.name: config_changed({
        "model": model.get("name"), "sendTemperature": model.get("sendTemperature"),
        "budget": (turn_based.get("tokenBudgets") or {}).get(phase.name),
        "temperature": (turn_based.get("temperatures") or {}).get(phase.name),
        "execute": turn_based.get("phasesToExecute"), "skip": turn_based.get("phasesToSkip"),
        "coverage": (raw.get("testing") or {}).get("minCoveragePercent") if isinstance(raw.get("testing"), dict) else None,
        "buildValidation": raw.get("buildValidation") if phase.runs_checks else None,
        "workspace": str(workspace)}) for phase in PHASES}
    names = []
    for plan_path in plan_paths:
        name = plan_path.stem
        names.append(f"generate:{name}")
        try:
            plan = parse_plan(plan_path)
        except PackageBuilderError as exc:
            yield {"basename": f"generate:{name}", "doc": f"(invalid plan) {exc}", "actions": [(fail, [str(exc)])]}
            continue
        yield {"basename": f"generate:{name}", "name": None, "doc": f"generate {plan.package_name} ({plan.category}) "
               f"into {plan.package_path}"}
        artifacts = {p.name: str(artifact_path(workspace, name, p.slug)) for p in PHASES} if workspace else {}
        previous = None
        for phase in PHASES:
            upstream = [artifacts[read] for read in phase.reads] if workspace else []
            yield {
                "basename": f"generate:{name}",
                "name": phase.slug,
                "doc": f"phase {phase.number}/{len(PHASES)} {phase.name}: {phase.description}",
                "actions": [(run_phase, [str(config_path), str(plan_path), phase.name])],
                "file_dep": [str(plan_path), *phase_files[phase.name], *upstream],
                "targets": [artifacts[phase.name]] if workspace else [],
                "task_dep": [previous] if previous else [],
                "uptodate": [phase_settings[phase.name]],
                "clean": True,
            }
            previous = f"generate:{name}:{phase.slug}"
        yield {"basename": f"generate:{name}", "name": "summary", "doc": "print files, tokens, time and branch",
               "actions": [(summarize, [str(config_path), str(plan_path)])], "task_dep": [previous], "uptodate": [False]}
    yield {"basename": "generate", "doc": "generate every planned package", "actions": None, "task_dep": names}
