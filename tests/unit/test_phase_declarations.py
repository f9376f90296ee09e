"""Phase declarations are checked with real errors that name the module and the rule (they hold under `python -O`,
unlike asserts): the engines rely on the numbering, the unique names and reads of earlier phases only."""
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


@pytest.mark.parametrize("broken, message", [
    (lambda ps: (ps[1], ps[0], *ps[2:]), "p02_foundation.py (FOUNDATION): number is 2, but it is phase 1"),
    (lambda ps: (*ps[:2], replace(ps[2], name="PLANNING"), *ps[3:]), "name must be unique"),
    (lambda ps: (replace(ps[0], reads=("TESTING",)), *ps[1:]), "reads 'TESTING', which is not an earlier phase"),
    (lambda ps: (*ps[:3], replace(ps[3], max_tokens=0), *ps[4:]), "max_tokens must be positive"),
    (lambda ps: (*ps[:7], replace(ps[7], write_allowlist=()), *ps[8:]), "needs a write_allowlist"),
    (lambda ps: (*ps[:14], replace(ps[14], type_checks=True)), "needs a template for its repair prompt"),
])
def test_a_broken_declaration_is_refused_by_name(broken, message):
    with pytest.raises(PhaseDeclarationError, match=message.replace("(", r"\(").replace(")", r"\)")):
        validate_phases(broken(DECLARED))


def test_every_earlier_phase_expands_to_the_phases_before(tmp_path):
    expanded = validate_phases((*DECLARED[:3], replace(DECLARED[3], reads=EVERY_EARLIER_PHASE)))
    assert expanded[3].reads == ("PLANNING", "FOUNDATION", "TYPES")


def test_checks_hold_under_python_dash_o():
    root = Path(__file__).resolve().parents[2]
    code = ("from dataclasses import replace; import phases; from package_builder.generation.phase import validate_phases\n"
            "try:\n    validate_phases((replace(phases.PHASES[0], number=3),))\nexcept Exception as e: print(e)")
    out = subprocess.run([sys.executable, "-O", "-c", code], cwd=root, capture_output=True, text=True, check=True)
    assert "number is 3, but it is phase 1" in out.stdout
