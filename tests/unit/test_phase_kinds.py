"""Kinds are data, not names: the engine runs a phase by what it is (a model call, the checks, a merge), never by
`if name == "MERGE"`, and what a phase sends the model does not depend on how many phases there are, so adding one
does not make every finished generation pay again."""

from __future__ import annotations

import ast
import json
from dataclasses import replace
from pathlib import Path

import phases
from package_builder.generation.artifacts import COMMITTED, ArtifactStore, PhaseArtifact
from package_builder.generation.phase import EVERY_EARLIER_PHASE, PHASE_KINDS, PhaseSpec, validate_phases
from package_builder.generation.run_context import RunContext
from package_builder.generation.runner import STEPS
from package_builder.generation.runner.context import PhaseJob, load_context
from package_builder.generation.runner.request import prepare

REPO = Path(__file__).resolve().parents[2]
PLAN = REPO / "examples" / "data-validator" / "plans" / "packages" / "core" / "data-validator.md"
PHASE_NAMES = {p.name for p in (*phases.PHASES, *phases.SINGLE_SHOT_PHASES)}


def test_the_engine_names_no_phase():
    """No string in package_builder/ is a phase's name: a decision made on a name breaks when phases/ changes.
    (Prose that mentions a phase, in a docstring or a message, is a longer string and does not count.)"""
    named = []
    for path in sorted((REPO / "package_builder").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in PHASE_NAMES:
                named.append(f"{path.relative_to(REPO)}:{node.lineno}: {node.value!r}")
    assert named == []


def test_every_kind_has_one_step_to_run_it():
    assert set(STEPS) == set(PHASE_KINDS)
    assert {p.kind for p in (*phases.PHASES, *phases.SINGLE_SHOT_PHASES)} <= set(STEPS)


def _workspace_with_every_phase_committed(root: Path) -> Path:
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
            ),
        )
    return root


def test_a_phase_added_at_the_end_changes_no_earlier_phases_request(tmp_path):
    workspace = _workspace_with_every_phase_committed(tmp_path / "workspace")
    config = tmp_path / "build-env.json"
    config.write_text(json.dumps({"workspaceRoot": str(workspace), "model": {"provider": "anthropic"}}))
    extra = PhaseSpec(
        name="SECURITY_REVIEW",
        kind="model",
        description="Review the package for security problems",
        max_tokens=3000,
        temperature=0.2,
        template="integration-review.md.j2",
        reads=EVERY_EARLIER_PHASE,
        write_allowlist=("docs/SECURITY.md",),
        source="p16_security_review.py",
    )
    grown = validate_phases((*phases.PHASES, replace(extra)))
    assert grown[-1].number == 16 and grown[:15] == phases.PHASES

    for phase in (p for p in phases.PHASES if p.calls_model):
        before = prepare(
            load_context(
                PhaseJob(REPO, config, PLAN, phase.name), phases.PHASES, RunContext(progress=lambda line: None)
            )
        )
        after = prepare(
            load_context(PhaseJob(REPO, config, PLAN, phase.name), grown, RunContext(progress=lambda line: None))
        )
        assert after.inputs_digest == before.inputs_digest, f"adding a 16th phase changes what {phase.name} sends"
        assert f"[phase {phase.number:02d} {phase.name}]" in before.task
