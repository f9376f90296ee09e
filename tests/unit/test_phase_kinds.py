"""Kinds are data, not names: the engine runs a phase by what it is (a model call, the checks, a merge), never by
`if name == "MERGE"`."""
from __future__ import annotations

import ast
from pathlib import Path

import phases
from package_builder.generation.phase import PHASE_KINDS
from package_builder.generation.runner import STEPS

REPO = Path(__file__).resolve().parents[2]
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

