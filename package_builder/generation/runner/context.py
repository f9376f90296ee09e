"""What every step of a phase knows: the loaded config, plan and phase, the phase's settings from `graph`, its
artifact store, and the run it belongs to (its spend, where progress lines go). Built once per phase by
`load_context`; the steps only read it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from package_builder.base.commands import Toolchain
from package_builder.base.config import BuildConfig, load_config
from package_builder.base.errors import WorkspaceError
from package_builder.base.paths import ProjectPaths
from package_builder.generation.artifacts import ANSWERED, COMMITTED, ArtifactStore, PhaseArtifact, fold_files
from package_builder.generation.graph import PhaseSettings, phase_settings
from package_builder.generation.phase import PhaseSpec
from package_builder.generation.plan import PlanSpec, parse_plan
from package_builder.generation.pricing import Prices, prices_for_run
from package_builder.generation.run_context import Progress, RunContext
from package_builder.generation.state import GenerationState, now_iso
from package_builder.generation.suite import in_workspace
from package_builder.generation.writer import Workspace

TEST_RUNNER = {"name": "vitest", "version": "3.2.4", "coverage": "@vitest/coverage-v8"}


@dataclass(frozen=True)
class PhaseJob:
    """Everything that names one phase of one plan; plain values, so any engine can pass it along."""

    project_root: Path
    config_path: Path
    plan_path: Path
    phase_name: str


@dataclass(frozen=True)
class PhaseContext:
    """One phase of one plan, loaded."""

    project: ProjectPaths
    config_path: Path
    config: BuildConfig
    plan: PlanSpec
    phases: tuple[PhaseSpec, ...]
    phase: PhaseSpec
    settings: PhaseSettings
    store: ArtifactStore
    run: RunContext

    @property
    def progress(self) -> Progress:
        return self.run.progress

    def label(self, phase: PhaseSpec | None = None) -> str:
        phase = phase or self.phase
        return f"[{self.plan.task_name}] phase {phase.number:02d}/{len(self.phases):02d} {phase.name}"

    def say(self, message: str, phase: PhaseSpec | None = None) -> None:
        self.progress(f"{self.label(phase)}  {message}")

    @property
    def coverage_target(self) -> int:
        override = self.settings.coverage_override
        return override if override is not None else self.plan.coverage_target

    @property
    def prices(self) -> Prices:
        """What calls cost; an unknown model fails under a money budget, else is said once to be priced as a guess."""
        return prices_for_run(self.config.model, self.config.budget, self.config_path, self.progress)

    @property
    def package_dir(self) -> Path:
        return self.config.workspace_root / self.plan.package_path

    def new_artifact(self, inputs: dict, inputs_digest: str, status: str, **fields) -> PhaseArtifact:
        """An artifact of this phase of this plan; the one place that fills in who it belongs to."""
        return PhaseArtifact(
            phase=self.phase.name,
            number=self.phase.number,
            task_name=self.plan.task_name,
            package_name=self.plan.package_name,
            inputs_digest=inputs_digest,
            inputs=inputs,
            status=status,
            started_at=fields.pop("started_at", now_iso()),
            **fields,
        )

    def workspace(self) -> Workspace:
        return Workspace(
            self.config.workspace_root, self.config.git.author_name, self.config.git.author_email, notice=self.progress
        )

    def toolchain(self) -> Toolchain:
        """The generated package's toolchain, configured by `buildValidation`."""
        checks = self.config.build_validation
        return Toolchain(
            self.package_dir,
            self.config.workspace_root,
            self.config.npm_registry,
            ignore_scripts=checks.ignore_scripts,
            timeout_seconds=checks.command_timeout_seconds,
            timeout_setting="buildValidation.commandTimeoutSeconds",
            heartbeat=self.say,
            dependency_dirs=tuple(self.config.workspace_root / d.path for d in self.plan.workspace_dependencies),
            planned={d.name: d.version for d in self.plan.workspace_dependencies if d.plan},
        )

    def package_tree(self) -> tuple[dict[str, str], set[str]]:
        """What the package directory must hold now: every stored artifact folded in phase order, and every path any
        of them ever wrote (so a file no phase writes any more is removed). Later phases win, so rerunning an
        earlier phase never leaves a stale version of a file a later phase rewrote."""
        artifacts = [
            a for p in self.phases if (a := self.store.load(p.slug)) is not None and a.status in (ANSWERED, COMMITTED)
        ]
        managed = {path for a in artifacts for path in (*a.files, *a.deletes)}
        return fold_files(artifacts), managed

    def check_package_clean(self, workspace: Workspace) -> None:
        """Refuse to overwrite changes generation did not make; a half-finished apply of our own is ours to finish."""
        desired, managed = self.package_tree()
        foreign = []
        for path in workspace.changed_paths(self.plan.package_path):
            on_disk = self.package_dir / path
            ours = path in managed and (
                (
                    path in desired
                    and on_disk.is_file()
                    and on_disk.read_text(encoding="utf-8", errors="replace") == desired[path]
                )
                or (path not in desired and not on_disk.exists())
            )
            if not ours:
                foreign.append(path)
        if foreign:
            raise WorkspaceError(
                f"{self.plan.package_path} has changes generation did not make "
                f"({', '.join(foreign[:5])}{', …' if len(foreign) > 5 else ''}): commit or stash "
                "them, then run again"
            )

    def commit_message(self, artifact: PhaseArtifact, title: str = "") -> str:
        files = "\n".join(f"- {path}" for path in sorted(artifact.files)) or "- (no files)"
        deletes = "".join(f"\n- deleted {path}" for path in artifact.deletes)
        title = title or f"feat({self.phase.kebab}): complete {self.phase.name} phase for {self.plan.package_name}"
        return (
            f"{title}\n\n"
            f"{artifact.summary or self.phase.description}\n\nFiles:\n{files}{deletes}\n\n"
            f"[Turn-based generation step {self.phase.number}]\n\n"
            f"Phase: {self.phase.slug}\nPackage: {self.plan.package_name}\n"
            f"Inputs-Digest: {artifact.inputs_digest}\n"
        )

    def record_step(self, state: GenerationState, artifact: PhaseArtifact) -> None:
        """The checkpoint's record of a finished phase, in the seed's schema."""
        state.data.update(currentPhase=self.phase.name, currentStepNumber=self.phase.number)
        state.complete_step(
            {
                "stepNumber": self.phase.number,
                "phase": self.phase.name,
                "description": self.phase.description,
                "files": sorted(artifact.files),
                "commit": artifact.commit,
                "timestamp": now_iso(),
                "claudeTokensUsed": artifact.prompt_tokens + artifact.output_tokens,
                "inputTokens": artifact.prompt_tokens,
                "outputTokens": artifact.output_tokens,
                "cacheReadTokens": artifact.cache_read_tokens,
                "cacheWriteTokens": artifact.cache_write_tokens,
                "costUsd": artifact.cost_usd,
                "modelCalls": len(artifact.calls),
                "status": artifact.status,
            },
            package_files=self.package_tree()[0],
        )


def usage_line(artifact: PhaseArtifact) -> str:
    """`5210 in (3800 from cache) / 520 out tokens, $0.0123`: what a phase's calls used and cost."""
    cached = f" ({artifact.cache_read_tokens} from cache)" if artifact.cache_read_tokens else ""
    return f"{artifact.prompt_tokens} in{cached} / {artifact.output_tokens} out tokens, ${artifact.cost_usd:.4f}"


def load_context(job: PhaseJob, phases: tuple[PhaseSpec, ...], run: RunContext) -> PhaseContext:
    config = load_config(job.config_path)
    api_chars = config.turn_based_generation.dependency_api_chars
    plan = in_workspace(parse_plan(job.plan_path), config.workspace_root, api_chars)
    phase = next(p for p in phases if p.name == job.phase_name)
    return PhaseContext(
        project=ProjectPaths(job.project_root),
        config_path=job.config_path,
        config=config,
        plan=plan,
        phases=phases,
        phase=phase,
        settings=phase_settings(config, phases, phase),
        store=ArtifactStore(config.workspace_root, plan.task_name, run.answer_stored),
        run=run,
    )
