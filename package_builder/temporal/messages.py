"""What travels through Temporal: workflow and activity inputs and results. Plain dataclasses of names, numbers and
digests, so the workflow history of a forty-package night stays small and holds no model text, file or secret."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class GenerationRequest:
    """One plan to generate, named the same way on every worker: its path under the plans folder (each worker reads
    it from its own checkout), and the digest of the plan as submitted, which a worker holding another version of
    the plan refuses to generate."""

    plan: str  # "core/data-validator.md"
    plan_digest: str
    heartbeat_timeout_seconds: int = 30  # temporal.heartbeatTimeoutSeconds of the config that submitted it
    # the workflows generating this plan's planned dependencies (a suite): it starts once they completed
    after: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class PlannedPhases:
    """What the `plan_phases` activity read from the plan: the package's task name and the phases to run, in order."""

    task_name: str
    package_name: str
    phases: list[str]


@dataclass(frozen=True)
class PhaseRequest:
    request: GenerationRequest
    phase: str
    spent_usd: float = 0.0  # what the earlier phases of this workflow spent: budget.maxUsdPerRun counts per run


@dataclass(frozen=True)
class PhaseOutcome:
    """A phase's result as the history keeps it: its commit and usage, and the worker that ran it."""

    phase: str
    worker: str
    commit: str | None = None
    reused: bool = False
    skipped: bool = False
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0


@dataclass
class Progress:
    """What the `progress` query answers and `status` prints."""

    plan: str
    task_name: str = ""
    phase: str = ""
    steps_done: int = 0
    steps: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    status: str = "starting"  # starting, running, completed, failed, cancelled
    worker: str = ""  # the worker that ran the last phase
    error: str = ""
    commits: list[str] = field(default_factory=list)
