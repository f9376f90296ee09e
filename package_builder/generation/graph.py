"""The generation graph, described once for every engine: which phases feed a phase, the type-check edge, and which
config values a phase depends on.

doit's task creators and the runner both read this module, so they cannot disagree about what makes a phase stale:
the runner takes every config value it uses from `phase_settings`, and doit's `config_changed` watches `rerun_key`,
the same settings. A change there makes doit run the task again; the runner then asks the model only if what it would
send changed (its inputs digest), so the key may be wider than the request but never narrower. A Temporal workflow
reads the same functions. Stdlib only: `doit list` imports it at load time.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from package_builder.generation.phase import PhaseSpec


@dataclass(frozen=True)
class PhaseSettings:
    """What the config decides for one phase: every config value its prompt, its model call or its checks use."""

    model: str
    max_tokens: int
    temperature: float | None  # None: not sent (model.sendTemperature is false)
    enabled: bool
    coverage_override: int | None  # testing.minCoveragePercent
    max_repair_attempts: int  # shown in BUILD_VALIDATION's repair prompt
    checks: dict | None  # buildValidation, for the phases whose work or inputs the checks change
    on_merge: str | None = None  # git.onMerge, for a merge phase (the kind that makes no call)

    def rerun_key(self) -> dict:
        """Plain JSON for doit's `config_changed`: every config value this phase uses."""
        return asdict(self)


def phases_for(
    plan, config, turn_based: tuple[PhaseSpec, ...], single_shot: tuple[PhaseSpec, ...]
) -> tuple[PhaseSpec, ...]:
    """The phases a plan is generated with: single-shot when its front matter says so or the config turns
    turn-based generation off, else the fifteen."""
    off = config is not None and not config.turn_based_generation.enabled
    return single_shot if single_shot and (plan.mode == "single-shot" or off) else turn_based


def previous_phase(phases: tuple[PhaseSpec, ...], phase: PhaseSpec) -> PhaseSpec | None:
    return phases[phase.number - 2] if phase.number > 1 else None


def type_check_source(phases: tuple[PhaseSpec, ...], phase: PhaseSpec) -> PhaseSpec | None:
    """The phase whose type-check result this phase reads (the one before it, when that one type-checks)."""
    previous = previous_phase(phases, phase)
    return previous if previous is not None and previous.type_checks else None


def upstream(phases: tuple[PhaseSpec, ...], phase: PhaseSpec) -> tuple[str, ...]:
    """Names of the phases whose stored output this phase depends on: what it reads, plus the type-check edge."""
    source = type_check_source(phases, phase)
    extra = (source.name,) if source is not None and source.name not in phase.reads else ()
    return (*phase.reads, *extra)


def checks_matter(phases: tuple[PhaseSpec, ...], phase: PhaseSpec) -> bool:
    """True when `buildValidation` settings change this phase's work (it runs checks) or its inputs (it reads a
    type-check result)."""
    return phase.runs_checks or phase.type_checks or type_check_source(phases, phase) is not None


def phase_enabled(config, phase: PhaseSpec) -> bool:
    """Whether the config lets `phase` run (a phase turned off makes no call and writes nothing)."""
    return not disabled_by(config, phase)


def disabled_by(config, phase: PhaseSpec) -> str:
    """The config setting that turns `phase` off, as a user would look for it ("" when it runs)."""
    if phase.runs_checks and not config.build_validation.enabled:
        return "buildValidation.enabled is false"
    generation = config.turn_based_generation
    if generation.phases_to_execute is not None and phase.name not in generation.phases_to_execute:
        return "turnBasedGeneration.phasesToExecute does not list it"
    return "turnBasedGeneration.phasesToSkip lists it" if phase.name in generation.phases_to_skip else ""


def phase_settings(config, phases: tuple[PhaseSpec, ...], phase: PhaseSpec) -> PhaseSettings:
    """The config, as seen by one phase. `config` is a `BuildConfig` (duck-typed: this module imports no pydantic)."""
    generation = config.turn_based_generation
    checks = config.build_validation
    return PhaseSettings(
        model=config.model.name,
        max_tokens=generation.token_budgets.get(phase.name, phase.max_tokens),
        temperature=(
            generation.temperatures.get(phase.name, phase.temperature) if config.model.send_temperature else None
        ),
        enabled=phase_enabled(config, phase),
        coverage_override=config.testing.min_coverage_percent,
        max_repair_attempts=checks.max_repair_attempts,
        checks=checks.model_dump(mode="json", by_alias=True) if checks_matter(phases, phase) else None,
        on_merge=config.git.on_merge if phase.kind == "merge" else None,
    )


def rerun_key(config, phases: tuple[PhaseSpec, ...], phase: PhaseSpec) -> dict:
    """The config values that make `phase` stale when they change; the same key for doit and the runner."""
    return phase_settings(config, phases, phase).rerun_key()
