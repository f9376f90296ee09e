"""What the runner sends a model and gets back, and the one interface every provider implements.

The runner knows only this module: a provider (the API, a replay cassette, a recording; later Bedrock or Vertex AI)
is chosen by name in `providers/__init__.py` and called through `ModelProvider`, so adding one touches no phase code.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from package_builder.base.config import BuildConfig
from package_builder.base.digest import digest_of
from package_builder.generation.progress import CallWatch

Say = Callable[[str], None]


@dataclass(frozen=True)
class ModelRequest:
    """One Messages API request; its digest keys cassettes and is recorded in the artifact."""

    model: str
    system: str | tuple[dict, ...]  # text, or content blocks (with prompt-cache breakpoints)
    messages: tuple[dict, ...]
    max_tokens: int
    temperature: float | None = None  # None: not sent (see ModelSettings.send_temperature)

    @property
    def digest(self) -> str:
        return digest_of(
            {
                "model": self.model,
                "system": self.system if isinstance(self.system, str) else list(self.system),
                "messages": list(self.messages),
                "max_tokens": self.max_tokens,
                "temperature": self.temperature,
            }
        )


@dataclass(frozen=True)
class ModelReply:
    """One answer and what it used; `seconds` is 0 for a replayed answer (no call went anywhere)."""

    text: str
    stop_reason: str
    input_tokens: int  # not from the cache, as the API reports it
    output_tokens: int
    seconds: float
    cache_write_tokens: int = 0
    cache_read_tokens: int = 0


class ModelProvider(Protocol):
    """A model the runner can call. `watch` is the running call's progress line (progress.py), set by the runner
    around each call; a provider that streams reports into it, others may ignore it."""

    watch: CallWatch | None

    @property
    def pacing_identity(self) -> str | None:
        """What the rate-limit pacer (pacing.py) keys this provider's shared buckets by (never a secret itself), or
        None when its calls are not paced (a replay asks no one)."""

    def call(self, request: ModelRequest, phase: str) -> ModelReply:
        """The model's answer to `request`.

        Failures raise `ModelCallError` (or `ModelRequestRefused`) naming `phase`."""


class ProviderModule(Protocol):
    """What each module of this package declares: its secret environment variables (base/credentials.py strips them
    from every child process; a test holds that list to every provider's) and how it is made from the config."""

    SECRET_VARIABLES: frozenset[str]

    def create(self, config: BuildConfig, config_path: Path, say: Say) -> ModelProvider: ...
