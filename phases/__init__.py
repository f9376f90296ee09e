"""The fifteen phases of turn-based generation, in order: one declarative module each (`pNN_<name>.py`).

`PHASES` is the only list the engines read. Import-time checks keep the declarations honest: numbers run 1..15 and a
phase reads only earlier phases.
"""
from dataclasses import replace

from package_builder.phase import EVERY_EARLIER_PHASE, PhaseSpec

from . import (
    p01_planning,
    p02_foundation,
    p03_types,
    p04_core_implementation,
    p05_entry_point,
    p06_utilities,
    p07_error_handling,
    p08_testing,
    p09_documentation,
    p10_examples,
    p11_integration_review,
    p12_critical_fixes,
    p13_build_validation,
    p14_final_polish,
    p15_merge,
)

_DECLARED: tuple[PhaseSpec, ...] = tuple(
    module.PHASE
    for module in (
        p01_planning, p02_foundation, p03_types, p04_core_implementation, p05_entry_point, p06_utilities,
        p07_error_handling, p08_testing, p09_documentation, p10_examples, p11_integration_review,
        p12_critical_fixes, p13_build_validation, p14_final_polish, p15_merge,
    )
)
PHASES: tuple[PhaseSpec, ...] = tuple(
    replace(phase, reads=tuple(p.name for p in _DECLARED[: phase.number - 1])) if phase.reads == EVERY_EARLIER_PHASE
    else phase
    for phase in _DECLARED
)
PHASE_NAMES: tuple[str, ...] = tuple(phase.name for phase in PHASES)
BY_NAME: dict[str, PhaseSpec] = {phase.name: phase for phase in PHASES}

for _index, _phase in enumerate(PHASES, start=1):
    assert _phase.number == _index, f"phase {_phase.name} has number {_phase.number}, expected {_index}"
    for _read in _phase.reads:
        assert _read in BY_NAME and BY_NAME[_read].number < _phase.number, f"{_phase.name} reads {_read}, not an earlier phase"


def module_file(phase: PhaseSpec) -> str:
    """The phase's own module file: a task depends on it, so editing a declaration reruns that phase."""
    return f"p{phase.number:02d}_{phase.name.lower()}.py"
