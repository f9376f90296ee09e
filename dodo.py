"""doit task graph: every plan × every phase becomes a task, and every workspace package gets build, test and
publish tasks; doit only schedules, `package_builder` does the work.

    generate                          all plans (`doit -n 2 generate`: two packages at once)
    └── generate:<plan>               one package: its 15 phases in order, then a summary
        ├── generate:<plan>:01-planning      target .generation-state/<plan>/01-planning.json
        ├── ...                              file_dep: plan, templates, phase module, upstream artifacts
        └── generate:<plan>:summary

    install                           the monorepo's dependencies (again only when a manifest or lockfile changes)
    build:<npm name>  test:<npm name>  publish:<npm name>     (groups build, test, publish: every package)
                                      dependencies first, at most maxConcurrentBuilds at once (`-n` overrides)

Load time stays light (stdlib + doit): the SDK, pydantic, Jinja2 and GitPython are imported inside the actions.
"""
import functools
import json
import sys
from pathlib import Path

from doit.exceptions import TaskFailed, UnmetDependency
from doit.reporter import ConsoleReporter
from doit.tools import config_changed

from package_builder.errors import PackageBuilderError
from package_builder.monorepo import discover_packages, global_inputs, lockfile, source_files
from package_builder.paths import ProjectPaths, artifact_path, build_record, builds_dir, read_raw_config, workspace_root_of
from package_builder.plan import discover_plans, parse_plan
from package_builder.templates import SYSTEM_TEMPLATE, template_sources
from phases import PHASES


class Reporter(ConsoleReporter):
    """doit's console output, minus the `.  task` line of generation tasks (they print their own progress line), plus
    a closing table of build/test/publish outcomes and `.package-builder/summary.json` for CI."""

    def __init__(self, outstream, options):
        super().__init__(outstream, options)
        self.outcomes: dict[str, dict[str, str]] = {}

    def execute_task(self, task):
        if not task.name.startswith("generate:"):
            super().execute_task(task)

    def add_success(self, task):
        super().add_success(task)
        self._note(task, None)

    def add_failure(self, task, fail):
        super().add_failure(task, fail)
        self._note(task, "not run: a dependency failed" if isinstance(fail, UnmetDependency) else "failed")

    def skip_uptodate(self, task):
        super().skip_uptodate(task)
        self._note(task, "up to date")

    def _note(self, task, status):
        step, _, package = task.name.partition(":")
        if step in ("build", "test", "publish") and package:
            if status is None:
                from package_builder.builds import read_outcome

                outcome = read_outcome(WORKSPACE, step, package) or {}
                status = outcome.get("status", "done") + (f" ({outcome['detail']})" if outcome.get("detail") else "")
            self.outcomes.setdefault(package, {})[step] = status

    def complete_run(self):
        super().complete_run()
        if not self.outcomes:
            return
        rows = [("package", "build", "test", "publish")] + [
            (name, *(steps.get(step, "-") for step in ("build", "test", "publish")))
            for name, steps in self.outcomes.items()]
        widths = [max(len(row[i]) for row in rows) for i in range(4)]
        for row in rows:
            self.write("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() + "\n")
        failed = sorted(name for name, steps in self.outcomes.items()
                        if any(status.startswith(("failed", "not run")) for status in steps.values()))
        summary = {"ok": not failed, "failed": failed, "packages": self.outcomes}
        path = builds_dir(WORKSPACE) / "summary.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(summary, indent=2) + "\n")
        self.write(f"summary: {path}\n")


PROJECT = ProjectPaths(Path(__file__).resolve().parent)
RAW_CONFIG = read_raw_config(PROJECT.config) or {}
WORKSPACE = workspace_root_of(PROJECT.config, RAW_CONFIG)
_CONCURRENCY = RAW_CONFIG.get("maxConcurrentBuilds", 4)
# `maxConcurrentBuilds` is doit's default `-n` for build/test/publish. Generation stays one task at a time unless
# `-n` says otherwise: parallel phases spend money and share the API's rate limits. Tasks run subprocesses (npm,
# git, the model over HTTP), so threads are enough and share one import of the core.
_GENERATING = any(arg.startswith("generate") for arg in sys.argv[1:])
DOIT_CONFIG = {"backend": "sqlite3", "dep_file": ".package-builder.doit.db", "verbosity": 2, "reporter": Reporter,
               "num_process": 1 if _GENERATING or not isinstance(_CONCURRENCY, int) or _CONCURRENCY < 1
               else _CONCURRENCY,
               "par_type": "thread"}


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
    raw = RAW_CONFIG
    workspace = WORKSPACE
    turn_based = raw.get("turnBasedGeneration") if isinstance(raw.get("turnBasedGeneration"), dict) else {}
    model = raw.get("model") if isinstance(raw.get("model"), dict) else {}
    try:
        plan_paths = discover_plans(PROJECT.plans)
    except PackageBuilderError as exc:
        yield {"basename": "generate", "doc": "(plans folder has an error)", "actions": [(fail, [str(exc)])]}
        return
    # What a phase depends on besides the plan and upstream artifacts is the same for every plan: compute it once.
    phase_files = {phase.name: [str(PROJECT.phases / phase.module_file)] + [
        str(path) for template in ([SYSTEM_TEMPLATE, phase.template, *phase.rendered_files.values()]
                                   if phase.calls_model else [])
        for path in template_sources(PROJECT.prompts, template)] for phase in PHASES}
    checked = {phase.name for index, phase in enumerate(PHASES)  # phases whose work or inputs the checks change
               if phase.runs_checks or phase.type_checks or (index and PHASES[index - 1].type_checks)}
    phase_settings = {phase.name: config_changed({
        "model": model.get("name"), "sendTemperature": model.get("sendTemperature"),
        "budget": (turn_based.get("tokenBudgets") or {}).get(phase.name),
        "temperature": (turn_based.get("temperatures") or {}).get(phase.name),
        "execute": turn_based.get("phasesToExecute"), "skip": turn_based.get("phasesToSkip"),
        "coverage": (raw.get("testing") or {}).get("minCoveragePercent") if isinstance(raw.get("testing"), dict) else None,
        "buildValidation": raw.get("buildValidation") if phase.name in checked else None,
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
        for index, phase in enumerate(PHASES):
            reads = [*phase.reads, *([PHASES[index - 1].name] if index and PHASES[index - 1].type_checks else [])]
            upstream = sorted({artifacts[read] for read in reads}) if workspace else []  # + the type-check before
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


def workspace_step(config_path, step, name, dry_run=False):
    """doit action for build:/test:/publish:<name>; a failure becomes a clean TaskFailed naming the package."""
    from package_builder import builds, publishing
    from package_builder.config import load_config

    config = None
    try:
        config = load_config(Path(config_path))
        if step == "install":
            return builds.install_workspace(config)
        if step == "build":
            return builds.build_package(config, name)
        if step == "test":
            return builds.test_package(config, name)
        return publishing.publish_package(config, name, dry_run=dry_run, config_path=Path(config_path))
    except PackageBuilderError as exc:
        return TaskFailed(publishing.redact(str(exc), config.npm_token_value() if config else None))


# doit hands a group's command-line options to the group task only, so `doit publish --dry-run` is read here too.
DRY_RUN_PARAM = {"name": "dry_run", "long": "dry-run", "type": bool, "default": "--dry-run" in sys.argv[1:],
                 "help": "show what would be published, publish nothing"}


@functools.lru_cache(maxsize=None)
def _sources(package):
    """A package's source files, listed once per load although build and test tasks both depend on them."""
    return tuple(source_files(package))


@functools.lru_cache(maxsize=None)
def _global_inputs():
    globs = RAW_CONFIG.get("globalBuildInputs") or []
    return global_inputs(WORKSPACE, [g for g in globs if isinstance(g, str)] if isinstance(globs, list) else [])


@functools.lru_cache(maxsize=None)
def _workspace_packages():
    if WORKSPACE is None or not WORKSPACE.is_dir():
        return [], None
    try:
        return discover_packages(WORKSPACE), None
    except PackageBuilderError as exc:
        return [], str(exc)


def task_install():
    """Install the monorepo's dependencies (again only when a package.json or the lockfile changes)."""
    packages, error = _workspace_packages()
    if error:
        return {"actions": [(fail, [error])], "doc": f"(workspace has an error) {error}"}
    if not packages:
        return {"actions": None, "doc": "install the monorepo's dependencies (no workspace packages found)"}
    manifests = [str(WORKSPACE / "package.json"), *(str(p.directory / "package.json") for p in packages)]
    lock = lockfile(WORKSPACE)
    return {"actions": [(workspace_step, [str(PROJECT.config), "install", None])],
            "file_dep": manifests + ([str(lock)] if lock else []),
            "targets": [str(builds_dir(WORKSPACE) / "install.json")], "clean": True}


def task_build():
    """Build workspace packages, dependencies first."""
    return _package_tasks("build")


def task_test():
    """Test workspace packages (each after its build)."""
    return _package_tasks("test")


def task_publish():
    """Publish workspace packages whose version is not in the registry yet, dependencies first."""
    return _package_tasks("publish")


def _package_tasks(step):
    packages, error = _workspace_packages()
    if error:
        yield {"basename": step, "doc": f"(workspace has an error) {error}", "actions": [(fail, [error])]}
        return
    by_name = {p.name: p for p in packages}
    publishing = RAW_CONFIG.get("publishing") if isinstance(RAW_CONFIG.get("publishing"), dict) else {}
    try:
        shared = _global_inputs() if packages else []
    except PackageBuilderError as exc:
        yield {"basename": step, "doc": f"(config has an error) {exc}", "actions": [(fail, [str(exc)])]}
        return
    group = {"basename": step, "name": None, "doc": f"{step} every workspace package"}
    if step == "publish":
        group["params"] = [DRY_RUN_PARAM]
    yield group
    for package in packages:
        upstream = _all_dependencies(package.name, by_name) if step == "test" else ()
        task = {"basename": step, "name": package.name, "doc": f"{step} {package.name} {package.version}",
                "actions": [(workspace_step, [str(PROJECT.config), step, package.name])]}
        if step == "build":
            task.update(file_dep=[*_sources(package), *shared,
                                  *(stamp("build", dep) for dep in package.workspace_dependencies)],
                        targets=[stamp("build", package.name)], clean=True)
        elif step == "test":
            task.update(file_dep=[*_sources(package), *shared,
                                  *(stamp("build", name) for name in (package.name, *upstream))],
                        targets=[stamp("test", package.name)], clean=True)
        else:
            needs_tests = publishing.get("requireTests", True) is not False
            task.update(task_dep=[f"build:{package.name}", *([f"test:{package.name}"] if needs_tests else []),
                                  *(f"publish:{dep}" for dep in package.workspace_dependencies)],
                        uptodate=[False], params=[DRY_RUN_PARAM], verbosity=2)
        yield task


@functools.lru_cache(maxsize=None)
def stamp(kind, name):
    return str(build_record(WORKSPACE, kind, name))


def _all_dependencies(name, by_name):
    seen, stack = [], list(by_name[name].workspace_dependencies)
    while stack:
        dep = stack.pop()
        if dep not in seen:
            seen.append(dep)
            stack.extend(by_name[dep].workspace_dependencies)
    return sorted(seen)
