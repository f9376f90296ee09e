"""The generation checkpoint: `<workspaceRoot>/.generation-state/gen-<epoch-ms>.json`, in the seed's camelCase schema.

One file per session (one package's generation). It is rewritten atomically at the start and end of every phase and on
failure, so `jq '.currentPhase, .currentStepNumber'` always reads a whole file. A rerun finds the package's newest
session and continues it: same session id, same branch.

`requirements.strictTypeScript`, `noAnyTypes` and `jsdocRequired` record what the package as written satisfies, checked
after every phase (quality.py): null until there is something to check, then true or false.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from pathlib import Path

from package_builder.base.locks import process_identity
from package_builder.base.paths import state_dir
from package_builder.base.storage import read_json, write_json_atomic
from package_builder.generation.plan import PlanSpec
from package_builder.generation.quality import package_checks


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class GenerationState:
    """The checkpoint of one session, kept as the JSON document users read with jq."""

    def __init__(self, path: Path, data: dict):
        self.path = path
        self.data = data

    @classmethod
    def find(cls, workspace_root: Path, plan: PlanSpec) -> GenerationState | None:
        """The newest session of this plan's package, or None when it never started."""
        return cls.newest_sessions(workspace_root).get((plan.package_name, str(plan.plan_path)))

    @classmethod
    def newest_sessions(cls, workspace_root: Path) -> dict[tuple[str, str], GenerationState]:
        """(package name, plan path) → its newest session, every checkpoint read once (status reads 50 plans)."""
        newest: dict[tuple[str, str], tuple[int, GenerationState]] = {}
        for path in state_dir(workspace_root).glob("gen-*.json"):
            data = read_json(path)
            if not data:
                continue
            package_name, plan_path = data.get("packageName"), data.get("planPath")
            if not isinstance(package_name, str) or not isinstance(plan_path, str):
                continue  # names no plan: no lookup by (package name, plan path) could ever find it
            key = (package_name, plan_path)
            started = int(str(data.get("sessionId", "")).removeprefix("gen-") or 0)
            if key not in newest or started > newest[key][0]:
                newest[key] = (started, cls(path, data))
        return {key: state for key, (_, state) in newest.items()}

    @classmethod
    def open(
        cls,
        workspace_root: Path,
        plan: PlanSpec,
        base_branch: str | None,
        branch_prefix: str,
        stacked_on: dict | None = None,
    ) -> GenerationState:
        """The newest session of this plan's package, or a new one (not written until `save`). `stacked_on` (`package`,
        `branch`): the new session builds on a dependency's feature branch, which is then its base."""
        found = cls.find(workspace_root, plan)
        if found is not None:
            return found
        directory = state_dir(workspace_root)
        if stacked_on:
            base_branch = stacked_on["branch"]
        elif base_branch and base_branch.startswith(branch_prefix):
            # Started while another package's generation has its branch checked out (`doit -n 2 generate`):
            # branch from that generation's base, not from its feature branch.
            for path in directory.glob("gen-*.json"):
                data = read_json(path) or {}
                if data.get("branch") == base_branch and data.get("baseBranch"):
                    base_branch = data["baseBranch"]
                    break
        millis = int(time.time() * 1000)
        session_id = f"gen-{millis}"
        data = {
            "sessionId": session_id,
            "branch": f"{branch_prefix}{millis}",
            "baseBranch": base_branch,
            "stackedOn": stacked_on,
            "packageName": plan.package_name,
            "packageCategory": plan.category,
            "packagePath": plan.package_path,
            "planPath": str(plan.plan_path),
            "workspaceRoot": str(workspace_root),
            "status": "in-progress",
            "currentPhase": None,
            "currentStepNumber": 0,
            "completedSteps": [],
            "requirements": {
                "testCoverageTarget": plan.coverage_target,
                "strictTypeScript": None,  # not checked yet: see quality.py
                "noAnyTypes": None,
                "jsdocRequired": None,
                "testRunner": "vitest",
            },
            "lastSuccessfulCommit": None,
            "failureRecovery": None,
            "tokens": {"input": 0, "output": 0, "cacheRead": 0, "cacheWrite": 0},
            "costUsd": 0.0,
            "startedAt": now_iso(),
            "savedAt": None,
        }
        return cls(directory / f"{session_id}.json", data)

    @property
    def branch(self) -> str:
        return self.data["branch"]

    @property
    def base_branch(self) -> str | None:
        return self.data.get("baseBranch")

    @property
    def cost_usd(self) -> float:
        """Everything this package's generation has spent on the model, every call of every run."""
        return float(self.data.get("costUsd") or 0.0)

    def charge(self, usd: float) -> None:
        self.data["costUsd"] = round(self.cost_usd + usd, 6)
        self.save()

    def start_step(self, number: int, phase: str) -> None:
        """A phase starts: `runningPid` lets `doit status` tell a generation running now from one left half done."""
        self.data.update(
            currentPhase=phase,
            currentStepNumber=number,
            status="in-progress",
            runningPid=os.getpid(),
            runningProcess=process_identity(os.getpid()),
        )
        self.save()

    @property
    def running(self) -> bool:
        """Whether the process that started the current phase is still alive (on this machine)."""
        pid, identity = self.data.get("runningPid"), self.data.get("runningProcess")
        return (
            isinstance(pid, int)
            and bool(identity)
            and self.data.get("status") == "in-progress"
            and process_identity(pid) == identity
        )

    def complete_step(self, step: dict, package_files: dict[str, str] | None = None) -> None:
        """Record a finished phase, replacing an earlier record of the same step (a rerun after an edit), and what the
        package as it now stands (`package_files`, path → content) satisfies of the requirements."""
        self.data.pop("runningPid", None)
        self.data.pop("runningProcess", None)
        steps = [s for s in self.data["completedSteps"] if s["stepNumber"] != step["stepNumber"]]
        steps.append(step)
        steps.sort(key=lambda s: s["stepNumber"])
        self.data["completedSteps"] = steps
        self.data["tokens"] = {
            "input": sum(s.get("inputTokens", 0) for s in steps),
            "output": sum(s.get("outputTokens", 0) for s in steps),
            "cacheRead": sum(s.get("cacheReadTokens", 0) for s in steps),
            "cacheWrite": sum(s.get("cacheWriteTokens", 0) for s in steps),
        }
        if step.get("commit"):
            self.data["lastSuccessfulCommit"] = step["commit"]
        if package_files is not None:
            self.data["requirements"] = {**(self.data.get("requirements") or {}), **package_checks(package_files)}
        failure = self.data.get("failureRecovery")
        if failure and failure.get("failedStep") == step["stepNumber"]:
            self.data["failureRecovery"] = None
        self.save()

    def fail_step(self, number: int, phase: str, error: str) -> None:
        previous = self.data.get("failureRecovery") or {}
        retries = previous.get("retryCount", -1) + 1 if previous.get("failedStep") == number else 0
        self.data.update(
            currentPhase=phase,
            currentStepNumber=number,
            status="failed",
            failureRecovery={
                "failedStep": number,
                "phase": phase,
                "error": error,
                "retryCount": retries,
                "failedAt": now_iso(),
            },
        )
        self.save()

    def finish(self) -> None:
        self.data["status"] = "completed"
        self.save()

    def save(self) -> None:
        if self.data.get("status") != "in-progress":
            self.data.pop("runningPid", None)
            self.data.pop("runningProcess", None)
        self.data["savedAt"] = now_iso()
        write_json_atomic(self.path, self.data)
