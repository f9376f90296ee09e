"""What a phase is: plain data the engine schedules and the runner executes.

The fifteen declarations live in the top-level `phases/` folder, one module each; this module only defines their
shape, so the core and every engine agree on it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Literal, get_args

from package_builder.base.errors import PhaseDeclarationError
from package_builder.base.globs import glob_match

EVERY_EARLIER_PHASE = ("*",)  # `reads=EVERY_EARLIER_PHASE`: the phase sees the whole package so far

# What a phase is, which is all the engine dispatches on (never its name):
#   model:  one model call whose answer writes files (PLANNING … FINAL_POLISH, SINGLE_SHOT);
#   checks: runs the real toolchain and calls the model only to repair what fails (BUILD_VALIDATION);
#   merge:  no model call; checks the branch is complete and does what `git.onMerge` says (MERGE).
PhaseKind = Literal["model", "checks", "merge"]
PHASE_KINDS: tuple[str, ...] = get_args(PhaseKind)


@dataclass(frozen=True)
class PhaseSpec:
    """One step of turn-based generation: what kind of step, which prompt, what budget, what it reads and where it
    may write. Its `number` is not declared: `validate_phases` gives it from the phase's position in its list."""

    name: str
    kind: PhaseKind
    description: str
    max_tokens: int = 0
    temperature: float = 0.0
    template: str | None = None  # the prompt (of a checks phase: its repair prompt); a merge phase has none
    reads: tuple[str, ...] = ()
    write_allowlist: tuple[str, ...] = ()
    rendered_files: Mapping[str, str] = field(default_factory=dict)
    check: Callable[..., list[str]] | None = None
    source: str = ""  # the declaration's module file in phases/ (filled in by phases/__init__.py)
    type_checks: bool = False  # a cheap `tsc --noEmit` after the phase; its errors go into the next phase's prompt
    number: int = 0  # 1-based position in its phase list, given by `validate_phases` (a declaration leaves it out)

    @cached_property  # asked for every plan × phase on every task load
    def slug(self) -> str:
        """`08-testing`: used for task names, artifact files and the `Phase:` commit trailer."""
        return f"{self.number:02d}-{self.kebab}"

    @cached_property
    def kebab(self) -> str:
        return self.name.lower().replace("_", "-")

    @property
    def module_file(self) -> str:
        """`p08_testing.py`: the declaration's file in `phases/`.

        A task depends on it, so editing it reruns the phase."""
        return self.source or f"p{self.number:02d}_{self.name.lower()}.py"

    @property
    def calls_model(self) -> bool:
        """Whether the phase may call the model at all (a checks phase does so only to repair)."""
        return self.kind != "merge"

    @property
    def runs_checks(self) -> bool:
        """Whether the phase runs the real toolchain and asks the model only to repair what fails."""
        return self.kind == "checks"

    def may_write(self, path: str) -> bool:
        """True when `path` (package-relative, already normalised) matches the phase's write allowlist."""
        return any(glob_match(path, pattern) for pattern in self.write_allowlist)


def validate_phases(declared: tuple[PhaseSpec, ...]) -> tuple[PhaseSpec, ...]:
    """The declarations in order, numbered by position, with `EVERY_EARLIER_PHASE` expanded;
    `PhaseDeclarationError` names the first declaration that breaks a rule the engines rely on."""
    expanded = []
    seen: dict[str, int] = {}
    for index, phase in enumerate(declared, start=1):
        phase = replace(phase, number=index)  # numbers come from position, so a list can grow or be reordered
        where = f"phases/{phase.module_file} ({phase.name})"
        if not re.fullmatch(r"[A-Z][A-Z_]*", phase.name) or phase.name in seen:
            raise PhaseDeclarationError(f"{where}: name must be unique UPPER_SNAKE_CASE")
        if phase.kind not in PHASE_KINDS:
            raise PhaseDeclarationError(f"{where}: kind is {phase.kind!r}; it must be one of {', '.join(PHASE_KINDS)}")
        if phase.reads == EVERY_EARLIER_PHASE:
            phase = replace(phase, reads=tuple(seen))
        for read in phase.reads:
            if read not in seen:
                raise PhaseDeclarationError(f"{where}: reads {read!r}, which is not an earlier phase")
        problem = _kind_problem(phase)
        if problem:
            raise PhaseDeclarationError(f"{where}: {problem}")
        seen[phase.name] = phase.number
        expanded.append(phase)
    return tuple(expanded)


def _kind_problem(phase: PhaseSpec) -> str:
    """What the phase's declaration lacks, or has too much of, for its kind ("" when nothing)."""
    if phase.kind == "merge":
        extra = [
            name
            for name, value in (
                ("template", phase.template),
                ("write_allowlist", phase.write_allowlist),
                ("rendered_files", phase.rendered_files),
                ("check", phase.check),
                ("type_checks", phase.type_checks),
            )
            if value
        ]
        return f"a merge phase makes no model call and writes no file: remove {', '.join(extra)}" if extra else ""
    what = "a checks phase (its repair prompt)" if phase.kind == "checks" else "a model phase"
    if phase.template is None:
        return f"{what} needs a template"
    if phase.max_tokens <= 0:
        return f"max_tokens must be positive for {what}"
    if not phase.write_allowlist:
        return f"{what} needs a write_allowlist"
    return ""
