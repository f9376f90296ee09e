"""Phase artifacts: the unit of resume. One JSON file per phase under `.generation-state/<plan>/`.

An artifact holds the digest of everything the phase read, the model's raw answer, the parsed files, usage, timings
and the commit. A phase whose stored `inputsDigest` matches what it would send now is done: it is reused without a
model call, whatever doit's own database remembers (doit saves it only at the end of a run, never on SIGKILL).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from package_builder.base.digest import digest_of
from package_builder.base.errors import ArtifactError
from package_builder.base.paths import artifact_path
from package_builder.base.storage import read_json, write_json_atomic

SCHEMA = 1
ANSWERED = "answered"  # the model answered and the answer is valid; not yet in the workspace
COMMITTED = "committed"  # applied to the workspace (and committed when it changed anything)
SKIPPED = "skipped"  # turned off in the config: no model call, no files
FAILED = "failed"  # the package stayed red after the repair attempts: recorded, never reused


@dataclass(frozen=True)
class ModelCall:
    """One request to the model within a phase (the first, or a re-ask after a bad answer)."""

    attempt: int
    request_digest: str
    stop_reason: str
    input_tokens: int
    output_tokens: int
    seconds: float
    problem: str = ""
    cache_write_tokens: int = 0
    cache_read_tokens: int = 0
    cost_usd: float = 0.0


@dataclass(frozen=True)
class PhaseArtifact:
    """What one phase produced, and from what. Immutable: a new state of a phase is a new artifact (`replace`)."""

    phase: str
    number: int
    task_name: str
    package_name: str
    inputs_digest: str
    inputs: dict
    status: str
    files: dict[str, str] = field(default_factory=dict)
    deletes: list[str] = field(default_factory=list)
    summary: str = ""
    raw_answer: str = ""
    calls: list[ModelCall] = field(default_factory=list)
    model_seconds: float = 0.0
    started_at: str = ""
    commit: str | None = None
    validation: dict = field(default_factory=dict)
    type_check: dict | None = None  # TYPES … ERROR_HANDLING: tsc on the package after this phase (see toolchain)
    dropped: list[str] = field(default_factory=list)  # blocks of the answer this phase does not write, and why
    schema: int = SCHEMA

    @property
    def output_digest(self) -> str:
        """What downstream phases depend on: the content written, not when or how it was obtained."""
        return digest_of({"files": self.files, "deletes": sorted(self.deletes)})

    def _total(self, usage: str) -> int:
        return sum(getattr(call, usage) for call in self.calls)

    input_tokens = property(lambda self: self._total("input_tokens"), doc="not from the cache, as the API reports it")
    output_tokens = property(lambda self: self._total("output_tokens"))
    cache_read_tokens = property(lambda self: self._total("cache_read_tokens"))
    cache_write_tokens = property(lambda self: self._total("cache_write_tokens"))
    cost_usd = property(lambda self: round(sum(call.cost_usd for call in self.calls), 6))

    @property
    def prompt_tokens(self) -> int:
        """Every input token the calls sent: not cached, written to the cache, and read from it."""
        return self.input_tokens + self.cache_write_tokens + self.cache_read_tokens

    def to_json(self) -> dict:
        data = asdict(self)
        data["outputDigest"] = self.output_digest
        data["usage"] = {
            "inputTokens": self.input_tokens,
            "outputTokens": self.output_tokens,
            "cacheWriteTokens": self.cache_write_tokens,
            "cacheReadTokens": self.cache_read_tokens,
            "costUsd": self.cost_usd,
        }
        return _camel(data)

    @classmethod
    def from_json(cls, data: dict) -> PhaseArtifact:
        calls = [ModelCall(**_snake(call)) for call in data.get("calls", [])]
        fields = {key: value for key, value in _snake(data).items() if key in cls.__dataclass_fields__}
        fields["calls"] = calls
        fields["inputs"] = data.get("inputs", {})
        fields["files"] = data.get("files", {})
        fields["validation"] = data.get("validation", {})
        fields["type_check"] = data.get("typeCheck")
        return cls(**fields)


class ArtifactStore:
    """Reads and writes the artifacts of one plan in one workspace."""

    def __init__(self, workspace_root: Path, task_name: str, answer_stored: Callable[[], None] | None = None):
        self.workspace_root = workspace_root
        self.task_name = task_name
        self.answer_stored = answer_stored  # RunContext.answer_stored

    def path(self, phase_slug: str) -> Path:
        return artifact_path(self.workspace_root, self.task_name, phase_slug)

    def load(self, phase_slug: str) -> PhaseArtifact | None:
        """The stored artifact, or None when the phase never ran. A file that cannot be read back is moved aside and
        reported (`ArtifactError`): the answer it held was paid for, so it is never silently asked for again."""
        path = self.path(phase_slug)
        artifact, problem = _read(path)
        if problem:
            aside = path.with_name(f"{path.stem}.corrupt-{int(time.time() * 1000)}{path.suffix}")
            try:
                os.replace(path, aside)
            except OSError as exc:
                raise ArtifactError(
                    f"{path}: {problem}, and it cannot be moved aside ({exc}): move or delete it, then run again"
                ) from None
            raise ArtifactError(
                f"{path}: {problem}; moved aside to {aside.name}. Run again to redo this phase (it "
                "calls the model again), or put a good copy of the file back first"
            )
        return artifact

    def peek_facts(self, phase_slug: str) -> tuple[str, dict] | None:
        """(status, inputs) of the stored artifact, read without building it (status reads hundreds); None when
        there is none or it does not read back."""
        data = read_json(self.path(phase_slug))
        if not isinstance(data, dict) or not isinstance(data.get("status"), str):
            return None
        inputs = data.get("inputs")
        return data["status"], inputs if isinstance(inputs, dict) else {}

    def peek(self, phase_slug: str) -> PhaseArtifact | None:
        """The stored artifact when it reads back cleanly, else None; never moves anything (for status views)."""
        return _read(self.path(phase_slug))[0]

    def save(self, phase_slug: str, artifact: PhaseArtifact) -> None:
        write_json_atomic(self.path(phase_slug), artifact.to_json())
        if artifact.status == ANSWERED and self.answer_stored is not None:
            self.answer_stored()


def _read(path: Path) -> tuple[PhaseArtifact | None, str]:
    """(artifact, "") or (None, why it cannot be used); (None, "") when there is no file."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None, ""
    except (OSError, UnicodeDecodeError) as exc:
        return None, f"cannot be read ({exc})"
    try:
        data = json.loads(text)
    except ValueError as exc:
        return None, f"is not valid JSON ({exc})"
    if not isinstance(data, dict):
        return None, "does not hold a JSON object"
    if data.get("schema") != SCHEMA:
        return None, f"has schema {data.get('schema')!r}, this version reads schema {SCHEMA}"
    try:
        return PhaseArtifact.from_json(data), ""
    except (TypeError, KeyError, AttributeError) as exc:
        return None, f"is not a phase artifact ({exc})"


def fold_files(artifacts: list[PhaseArtifact]) -> dict[str, str]:
    """The package's files after applying `artifacts` in phase order (later writes win, deletes remove)."""
    view: dict[str, str] = {}
    for artifact in sorted(artifacts, key=lambda a: a.number):
        for path in artifact.deletes:
            view.pop(path, None)
        view.update(artifact.files)
    return dict(sorted(view.items()))


def _camel(value):
    if isinstance(value, dict):
        verbatim = ("files", "inputs", "validation")
        return {(k if k in verbatim else _to_camel(k)): (v if k in verbatim else _camel(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [_camel(v) for v in value]
    return value


def _snake(value: dict) -> dict:
    return {_to_snake(k): v for k, v in value.items()}


def _to_camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _to_snake(name: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in name)
