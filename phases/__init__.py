"""The fifteen phases of turn-based generation, in order: one declarative module each (`pNN_<name>.py`).

`PHASES` is the only list the engines read. `validate_phases` keeps the declarations honest at import time (numbers
run 1..15, names are unique, a phase reads only earlier phases, model phases have a budget and an allowlist), with an error that names the
declaration, even under `python -O`.
"""
from package_builder.phase import PhaseSpec, validate_phases

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

PHASES: tuple[PhaseSpec, ...] = validate_phases(tuple(
    module.PHASE
    for module in (
        p01_planning, p02_foundation, p03_types, p04_core_implementation, p05_entry_point, p06_utilities,
        p07_error_handling, p08_testing, p09_documentation, p10_examples, p11_integration_review,
        p12_critical_fixes, p13_build_validation, p14_final_polish, p15_merge,
    )
))
PHASE_NAMES: tuple[str, ...] = tuple(phase.name for phase in PHASES)
BY_NAME: dict[str, PhaseSpec] = {phase.name: phase for phase in PHASES}
