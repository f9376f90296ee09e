"""doit and the runner agree on what makes a phase stale. doit skips a phase whose `config_changed` key is unchanged
without asking the runner, so every config value that changes what the runner would send must change that key; and
the key doit watches must be the very one the runner digests (`graph.rerun_key`)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import phases
from package_builder.base.config import BuildConfig, load_config
from package_builder.base.digest import digest_of
from package_builder.base.errors import ConfigError
from package_builder.base.paths import ProjectPaths
from package_builder.generation.artifacts import COMMITTED, ArtifactStore, PhaseArtifact
from package_builder.generation.graph import rerun_key, upstream
from package_builder.generation.run_context import RunContext
from package_builder.generation.runner.context import PhaseJob, load_context
from package_builder.generation.runner.request import prepare
from package_builder.tasks.generation import generation_tasks
from package_builder.tasks.project import LoadedProject

REPO = Path(__file__).resolve().parents[2]
PLAN = REPO / "examples" / "data-validator" / "plans" / "packages" / "core" / "data-validator.md"
MODEL_PHASES = [phase for phase in phases.PHASES if phase.calls_model]
TYPE_CHECK = {"ran": True, "command": ["tsc", "--noEmit"], "exitCode": 0, "output": "", "errors": 0}

# Every leaf of the config file, and a changed value for it (a function of the phase where the field is per phase).
MUTATIONS = {
    "workspaceRoot": lambda phase, ws: str(ws.parent / "moved"),
    "npmRegistry": lambda phase, ws: "http://127.0.0.1:4873/",
    "npmToken": lambda phase, ws: "npm_token_value",
    "anthropicApiKey": lambda phase, ws: "sk-ant-other",
    "maxConcurrentBuilds": lambda phase, ws: 7,
    "globalBuildInputs": lambda phase, ws: ["tools/**"],
    "model.provider": lambda phase, ws: "replay",
    "model.name": lambda phase, ws: "claude-other-model",
    "model.cassette": lambda phase, ws: "cassette.json",
    "model.maxRetries": lambda phase, ws: 9,
    "model.timeoutSeconds": lambda phase, ws: 30,
    "model.maxAnswerRepairs": lambda phase, ws: 5,
    "model.maxContinuations": lambda phase, ws: 7,
    "model.streamAboveTokens": lambda phase, ws: 100,
    "model.sendTemperature": lambda phase, ws: True,
    "model.maxWaitSeconds": lambda phase, ws: 60,
    "model.rateLimits": lambda phase, ws: {"outputTokensPerMinute": 4000},
    "model.prices": lambda phase, ws: {"input": 1, "output": 2},
    "budget.maxUsdPerPackage": lambda phase, ws: 5.0,
    "budget.maxUsdPerRun": lambda phase, ws: 9.0,
    "git.authorName": lambda phase, ws: "Someone Else",
    "git.authorEmail": lambda phase, ws: "else@example.test",
    "git.branchPrefix": lambda phase, ws: "gen/",
    "git.onMerge": lambda phase, ws: "merge",
    "model.progressEverySeconds": lambda phase, ws: 5,
    "plansDir": lambda phase, ws: "elsewhere",
    "turnBasedGeneration.enabled": lambda phase, ws: False,
    "turnBasedGeneration.maxConcurrentPhases": lambda phase, ws: 3,
    "turnBasedGeneration.phasesToExecute": lambda phase, ws: [p.name for p in phases.PHASES if p is not phase],
    "turnBasedGeneration.phasesToSkip": lambda phase, ws: [phase.name],
    "turnBasedGeneration.tokenBudgets": lambda phase, ws: {phase.name: phase.max_tokens + 1000},
    "turnBasedGeneration.temperatures": lambda phase, ws: {phase.name: 0.9},
    "turnBasedGeneration.dependencyApiChars": lambda phase, ws: 1000,
    "buildValidation.enabled": lambda phase, ws: False,
    "buildValidation.maxRepairAttempts": lambda phase, ws: 5,
    "buildValidation.commandTimeoutSeconds": lambda phase, ws: 60,
    "buildValidation.ignoreScripts": lambda phase, ws: False,
    "buildValidation.typeCheckBetweenPhases": lambda phase, ws: False,
    "buildValidation.maxAttemptsPerFailure": lambda phase, ws: {"type": 1},
    "testing.enableCoverage": lambda phase, ws: False,
    "testing.minCoveragePercent": lambda phase, ws: 77,
    "testing.failOnError": lambda phase, ws: False,
    "publishing.dryRun": lambda phase, ws: True,
    "publishing.requireTests": lambda phase, ws: False,
    "publishing.requireCleanWorkingDirectory": lambda phase, ws: False,
    "publishing.tag": lambda phase, ws: "next",
    "publishing.access": lambda phase, ws: "public",
    "builds.commandTimeoutSeconds": lambda phase, ws: 60,
    "builds.packageTimeouts": lambda phase, ws: {"@a/b": 30},
    "builds.cache": lambda phase, ws: False,
    "builds.cacheMaxMegabytes": lambda phase, ws: 10,
    "builds.remoteCache": lambda phase, ws: {"url": "http://127.0.0.1:9/"},
    "packageBuilder.tasks": lambda phase, ws: {"build": {"outputs": ["lib/**"]}},
    "temporal.address": lambda phase, ws: "127.0.0.1:7999",
    "temporal.namespace": lambda phase, ws: "other",
    "temporal.taskQueue": lambda phase, ws: "other-queue",
    "temporal.workspaceRemote": lambda phase, ws: "/srv/git/monorepo.git",
    "temporal.heartbeatTimeoutSeconds": lambda phase, ws: 9,
    "model.rateLimitStore": lambda phase, ws: "redis://127.0.0.1:6399/0",
}


def config_leaves(model: type = BuildConfig, prefix: str = "") -> set[str]:
    leaves = set()
    for name, field in model.model_fields.items():
        alias = prefix + (field.alias or name)
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BuildConfig.__mro__[1]):
            leaves |= config_leaves(annotation, alias + ".")
        else:
            leaves.add(alias)
    return leaves


def set_path(config: dict, path: str, value) -> dict:
    changed = json.loads(json.dumps(config))
    *sections, leaf = path.split(".")
    target = changed
    for section in sections:
        target = target.setdefault(section, {})
    target[leaf] = value
    return changed


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    """A workspace whose store holds a committed artifact for every phase, so any phase can prepare its request."""
    root = tmp_path_factory.mktemp("keys") / "workspace"
    store = ArtifactStore(root, "data-validator")
    for phase in phases.PHASES:
        store.save(
            phase.slug,
            PhaseArtifact(
                phase=phase.name,
                number=phase.number,
                task_name="data-validator",
                package_name="@example/data-validator",
                inputs_digest=f"sha256:{phase.number}",
                inputs={},
                status=COMMITTED,
                files={f"src/{phase.kebab}.ts": f"export const n = {phase.number};\n"},
                type_check=TYPE_CHECK if phase.type_checks else None,
            ),
        )
    shutil.copytree(root, root.parent / "moved")  # the same store, for the workspaceRoot mutation
    return root


BASE_CONFIG = {"workspaceRoot": None, "model": {"provider": "anthropic"}}


@pytest.fixture(scope="module")
def base_views(workspace, tmp_path_factory) -> tuple[dict, dict]:
    """The unchanged config, and what the runner makes of it for every phase (computed once)."""
    base = {**BASE_CONFIG, "workspaceRoot": str(workspace)}
    config_file = tmp_path_factory.mktemp("base") / "build-env.json"
    config_file.write_text(json.dumps(base))
    return base, {phase.name: runner_view(config_file, phase) for phase in MODEL_PHASES}


def runner_view(config_file: Path, phase) -> tuple[dict, str] | None:
    """(rerun key, inputs digest) as the runner computes them; None when the runner refuses this config."""
    try:
        ctx = load_context(
            PhaseJob(REPO, config_file, PLAN, phase.name), phases.PHASES, RunContext(progress=lambda line: None)
        )
    except ConfigError:
        return None
    digest = prepare(ctx).inputs_digest if ctx.settings.enabled else digest_of({"skipped": True})
    return rerun_key(ctx.config, phases.PHASES, phase), digest


def test_every_config_field_is_covered_by_the_agreement_test():
    assert set(MUTATIONS) == config_leaves(), "a new config field needs a mutation here"


@pytest.mark.parametrize("field", sorted(MUTATIONS))
def test_a_config_change_that_changes_what_a_phase_sends_changes_the_key_doit_watches(
    field, workspace, base_views, tmp_path
):
    base, views = base_views
    changed_file = tmp_path / "changed.json"
    for phase in MODEL_PHASES:
        changed_file.write_text(json.dumps(set_path(base, field, MUTATIONS[field](phase, workspace))))
        before, after = views[phase.name], runner_view(changed_file, phase)
        if after is None:
            continue  # the runner refuses the changed config outright (generation turned off): nothing goes stale
        (key_before, digest_before), (key_after, digest_after) = before, after
        if digest_before != digest_after:
            assert key_before != key_after, f"{field} changes what {phase.name} sends, but not doit's key"


@pytest.mark.parametrize(
    "field, affected",
    [
        ("model.name", [p.name for p in MODEL_PHASES]),
        ("turnBasedGeneration.tokenBudgets", [p.name for p in MODEL_PHASES]),
        ("testing.minCoveragePercent", ["PLANNING", "FOUNDATION", "TESTING"]),
        ("buildValidation.typeCheckBetweenPhases", ["ENTRY_POINT", "TESTING"]),
    ],
)
def test_prompt_feeding_fields_do_make_phases_stale(field, affected, workspace, base_views, tmp_path):
    """The agreement above is not vacuous: these fields change what these phases send."""
    base, views = base_views
    changed_file = tmp_path / "changed.json"
    for name in affected:
        phase = phases.BY_NAME[name]
        changed_file.write_text(json.dumps(set_path(base, field, MUTATIONS[field](phase, workspace))))
        assert views[name][1] != runner_view(changed_file, phase)[1], (field, name)


def test_doit_watches_the_runners_key_and_the_graphs_upstream(workspace, tmp_path, monkeypatch):
    config_file = tmp_path / "build-env.json"
    config_file.write_text(
        json.dumps({"workspaceRoot": str(workspace), "turnBasedGeneration": {"tokenBudgets": {"TESTING": 9000}}})
    )
    root = tmp_path / "project"
    (root / "plans" / "packages" / "core").mkdir(parents=True)
    shutil.copy(PLAN, root / "plans" / "packages" / "core")
    monkeypatch.setenv("PACKAGE_BUILDER_CONFIG", str(config_file))
    project = LoadedProject(ProjectPaths(root))
    tasks = {f"{t['basename']}:{t.get('name')}": t for t in generation_tasks(project) if "name" in t}

    config = load_config(config_file)  # what the runner validates; doit's load reads the snapshot of it
    for phase in phases.PHASES:
        task = tasks[f"generate:data-validator:{phase.slug}"]
        assert task["uptodate"][0].config == rerun_key(config, phases.PHASES, phase)
        wanted = {
            str(workspace / ".generation-state" / "data-validator" / f"{phases.BY_NAME[n].slug}.json")
            for n in upstream(phases.PHASES, phase)
        }
        assert wanted <= set(task["file_dep"]), phase.name
    assert tasks["generate:data-validator:08-testing"]["uptodate"][0].config["max_tokens"] == 9000
    # The type-check edge: ENTRY_POINT depends on CORE_IMPLEMENTATION's artifact even if it did not read it.
    assert "CORE_IMPLEMENTATION" in upstream(phases.PHASES, phases.BY_NAME["ENTRY_POINT"])


@pytest.mark.parametrize("field", sorted(MUTATIONS))
def test_the_snapshot_doit_loads_gives_the_keys_the_validated_config_gives(field, workspace, tmp_path, monkeypatch):
    """doit's task load reads the config's JSON snapshot, not the pydantic model: every field, changed, must still
    give each phase (turn-based and single-shot) the key the runner computes from the model."""
    config_file = tmp_path / "build-env.json"
    monkeypatch.setenv("PACKAGE_BUILDER_CONFIG", str(config_file))
    for phase in (phases.BY_NAME["TESTING"], phases.BY_NAME["BUILD_VALIDATION"], phases.BY_NAME["MERGE"]):
        config_file.write_text(
            json.dumps(
                set_path({**BASE_CONFIG, "workspaceRoot": str(workspace)}, field, MUTATIONS[field](phase, workspace))
            )
        )
        try:
            model = load_config(config_file)
        except ConfigError:
            continue  # refused alike: the task load reports the same error
        _ = LoadedProject(ProjectPaths(tmp_path)).config  # validates and writes the snapshot
        snapshot = LoadedProject(ProjectPaths(tmp_path)).config  # reads it back
        assert snapshot is not None
        for phase_list in (phases.PHASES, phases.SINGLE_SHOT_PHASES):
            for each in phase_list:
                assert rerun_key(snapshot, phase_list, each) == rerun_key(model, phase_list, each), (field, each.name)
        assert snapshot.max_concurrent_builds == model.max_concurrent_builds
        assert Path(snapshot.workspace_root) == model.workspace_root
        assert (Path(snapshot.plans_dir) if snapshot.plans_dir else None) == model.plans_dir
        assert snapshot.package_builder.tasks == model.package_builder.tasks
        assert snapshot.global_build_inputs == model.global_build_inputs
        assert snapshot.publishing.require_tests == model.publishing.require_tests
        assert snapshot.turn_based_generation.enabled == model.turn_based_generation.enabled
