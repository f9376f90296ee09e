"""The fifteen phases of turn-based generation, in order: one declarative module each (`pNN_<name>.py`).

`PHASES` is the only list the engines read. A phase's number is its position here (a declaration does not state it),
so adding a phase is one module and one entry below. `validate_phases` keeps the declarations honest at import time
(names are unique, a phase reads only earlier phases, each has what its kind needs: a model phase a template, a budget
and an allowlist, a merge phase none of them), with an error that names the declaration, even under `python -O`.
"""

from dataclasses import replace
from pathlib import Path
from types import ModuleType

from package_builder.generation.phase import EVERY_EARLIER_PHASE, PhaseSpec, validate_phases

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
    single_shot,
)


def _declared(module: ModuleType) -> PhaseSpec:
    """The phase `module` declares, with its file's name: a phase's task depends on that file."""
    assert module.__file__ is not None  # a phase is a .py module, never a namespace package
    return replace(module.PHASE, source=Path(module.__file__).name)


PHASES: tuple[PhaseSpec, ...] = validate_phases(
    tuple(
        _declared(module)
        for module in (
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
    )
)
PHASE_NAMES: tuple[str, ...] = tuple(phase.name for phase in PHASES)
BY_NAME: dict[str, PhaseSpec] = {phase.name: phase for phase in PHASES}

# Single-shot mode (see single_shot.py): one call for the whole package, then the same checks and MERGE.
SINGLE_SHOT_PHASES: tuple[PhaseSpec, ...] = validate_phases(
    (
        replace(single_shot.PHASE, source=Path(single_shot.__file__).name),
        replace(BY_NAME["BUILD_VALIDATION"], reads=EVERY_EARLIER_PHASE),
        replace(BY_NAME["MERGE"], reads=EVERY_EARLIER_PHASE),
    )
)
ALL_PHASE_NAMES: tuple[str, ...] = (*PHASE_NAMES, single_shot.PHASE.name)  # what the config may name
