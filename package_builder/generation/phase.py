"""What a phase is: plain data the engine schedules and the runner executes.

The fifteen declarations live in the top-level `phases/` folder, one module each; this module only defines their
shape, so the core and every engine agree on it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Callable, Mapping

from package_builder.base.errors import PhaseDeclarationError
from package_builder.base.globs import glob_match


EVERY_EARLIER_PHASE = ("*",)  # `reads=EVERY_EARLIER_PHASE`: the phase sees the whole package so far


@dataclass(frozen=True)
class PhaseSpec:
    """One step of turn-based generation: which prompt, what budget, what it reads and where it may write."""

    number: int
    name: str
    description: str
    max_tokens: int
    temperature: float
    template: str | None
    reads: tuple[str, ...] = ()
    write_allowlist: tuple[str, ...] = ()
    rendered_files: Mapping[str, str] = field(default_factory=dict)
    check: Callable[..., list[str]] | None = None
    source: str = ""  # the declaration's module file in phases/ (filled in by phases/__init__.py)
    runs_checks: bool = False  # BUILD_VALIDATION: run the real toolchain and ask the model only to repair failures
    type_checks: bool = False  # a cheap `tsc --noEmit` after the phase; its errors go into the next phase's prompt

    @cached_property  # asked for every plan × phase on every task load
    def slug(self) -> str:
        """`08-testing`: used for task names, artifact files and the `Phase:` commit trailer."""
        return f"{self.number:02d}-{self.kebab}"

    @cached_property
    def kebab(self) -> str:
        return self.name.lower().replace("_", "-")

    @property
    def module_file(self) -> str:
        """`p08_testing.py`: the declaration's file in `phases/`; a task depends on it, so editing it reruns the phase."""
        return self.source or f"p{self.number:02d}_{self.name.lower()}.py"

    @property
    def calls_model(self) -> bool:
        return self.template is not None

    def may_write(self, path: str) -> bool:
        """True when `path` (package-relative, already normalised) matches the phase's write allowlist."""
        return any(glob_match(path, pattern) for pattern in self.write_allowlist)


def validate_phases(declared: tuple[PhaseSpec, ...]) -> tuple[PhaseSpec, ...]:
    """The declarations in order with `EVERY_EARLIER_PHASE` expanded; `PhaseDeclarationError` names the first
    declaration that breaks a rule the engines rely on."""
    expanded = []
    seen: dict[str, int] = {}
    for index, phase in enumerate(declared, start=1):
        where = f"phases/{phase.module_file} ({phase.name})"
        if phase.number != index:
            raise PhaseDeclarationError(f"{where}: number is {phase.number}, but it is phase {index} in PHASES")
        if not re.fullmatch(r"[A-Z][A-Z_]*", phase.name) or phase.name in seen:
            raise PhaseDeclarationError(f"{where}: name must be unique UPPER_SNAKE_CASE")
        if phase.reads == EVERY_EARLIER_PHASE:
            phase = replace(phase, reads=tuple(seen))
        for read in phase.reads:
            if read not in seen:
                raise PhaseDeclarationError(f"{where}: reads {read!r}, which is not an earlier phase")
        if phase.calls_model and phase.max_tokens <= 0:
            raise PhaseDeclarationError(f"{where}: max_tokens must be positive for a phase that calls the model")
        if phase.calls_model and not phase.write_allowlist:
            raise PhaseDeclarationError(f"{where}: a phase that calls the model needs a write_allowlist")
        if (phase.runs_checks or phase.type_checks) and not phase.calls_model:
            raise PhaseDeclarationError(f"{where}: a phase that runs checks needs a template for its repair prompt")
        seen[phase.name] = phase.number
        expanded.append(phase)
    return tuple(expanded)
