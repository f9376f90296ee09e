"""Phase declarations are checked with real errors that name the module and the rule (they hold under `python -O`,
unlike asserts): the engines rely on unique names, reads of earlier phases only, and each phase having what its kind
needs. Numbers are not declared: a phase's number is its position."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

import phases
from package_builder.base.errors import PhaseDeclarationError
from package_builder.generation.phase import EVERY_EARLIER_PHASE, validate_phases

DECLARED = phases.PHASES


def test_the_fifteen_phases_validate_and_expand_every_earlier_phase():
    checked = validate_phases(DECLARED)
    assert [p.number for p in checked] == list(range(1, 16))
    assert phases.BY_NAME["MERGE"].reads == tuple(p.name for p in DECLARED[:14])


def test_numbers_and_slugs_come_from_position_and_are_the_ones_existing_checkpoints_use():
    assert [p.slug for p in phases.PHASES] == [
        "01-planning",
        "02-foundation",
        "03-types",
        "04-core-implementation",
        "05-entry-point",
        "06-utilities",
        "07-error-handling",
        "08-testing",
        "09-documentation",
        "10-examples",
        "11-integration-review",
        "12-critical-fixes",
        "13-build-validation",
        "14-final-polish",
        "15-merge",
    ]
    assert [p.slug for p in phases.SINGLE_SHOT_PHASES] == ["01-single-shot", "02-build-validation", "03-merge"]
    swapped = validate_phases((replace(DECLARED[1], reads=()), DECLARED[0]))
    assert [(p.name, p.number) for p in swapped] == [("FOUNDATION", 1), ("PLANNING", 2)]
    for module in sorted((Path(phases.__file__).parent).glob("p[0-9]*.py")) + [Path(phases.single_shot.__file__)]:
        assert "number=" not in module.read_text(), f"{module.name} states its number; its position gives it"


def test_every_phase_says_its_kind():
    assert {p.name: p.kind for p in (*phases.PHASES, *phases.SINGLE_SHOT_PHASES) if p.kind != "model"} == {
        "BUILD_VALIDATION": "checks",
        "MERGE": "merge",
    }


@pytest.mark.parametrize(
    "broken, message",
    [
        (lambda ps: (*ps[:2], replace(ps[2], name="PLANNING"), *ps[3:]), "name must be unique"),
        (lambda ps: (replace(ps[0], reads=("TESTING",)), *ps[1:]), "reads 'TESTING', which is not an earlier phase"),
        (
            lambda ps: (replace(ps[0], kind="review"), *ps[1:]),
            "p01_planning.py (PLANNING): kind is 'review'; it must be one of model, checks, merge",
        ),
        (lambda ps: (*ps[:3], replace(ps[3], max_tokens=0), *ps[4:]), "max_tokens must be positive for a model phase"),
        (lambda ps: (*ps[:7], replace(ps[7], write_allowlist=()), *ps[8:]), "a model phase needs a write_allowlist"),
        (lambda ps: (*ps[:7], replace(ps[7], template=None), *ps[8:]), "a model phase needs a template"),
        (
            lambda ps: (*ps[:12], replace(ps[12], template=None), *ps[13:]),
            "p13_build_validation.py (BUILD_VALIDATION): a checks phase (its repair prompt) needs a template",
        ),
        (
            lambda ps: (*ps[:14], replace(ps[14], type_checks=True)),
            "a merge phase makes no model call and writes no file: remove type_checks",
        ),
        (
            lambda ps: (*ps[:14], replace(ps[14], template="planning.md.j2", write_allowlist=("src/**",))),
            "p15_merge.py (MERGE): a merge phase makes no model call and writes no file: "
            "remove template, write_allowlist",
        ),
    ],
)
def test_a_broken_declaration_is_refused_by_name(broken, message):
    with pytest.raises(PhaseDeclarationError, match=message.replace("(", r"\(").replace(")", r"\)")):
        validate_phases(broken(DECLARED))


def test_every_earlier_phase_expands_to_the_phases_before(tmp_path):
    expanded = validate_phases((*DECLARED[:3], replace(DECLARED[3], reads=EVERY_EARLIER_PHASE)))
    assert expanded[3].reads == ("PLANNING", "FOUNDATION", "TYPES")


def test_checks_hold_under_python_dash_o():
    root = Path(__file__).resolve().parents[2]
    code = (
        "from dataclasses import replace; import phases\n"
        "from package_builder.generation.phase import validate_phases\n"
        "try:\n    validate_phases((replace(phases.PHASES[0], kind='review'),))\nexcept Exception as e: print(e)"
    )
    out = subprocess.run([sys.executable, "-O", "-c", code], cwd=root, capture_output=True, text=True, check=True)
    assert "kind is 'review'; it must be one of model, checks, merge" in out.stdout
