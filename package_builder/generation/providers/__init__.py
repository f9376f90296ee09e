"""Model providers: one module per provider (`anthropic`, `replay`, `record`), each behind `ModelProvider`
(interface.py), chosen by `model.provider` from one table. A provider names its secret environment variables (stripped
from every command we run, base/credentials.py) and its pacing identity (what pacing.py keys shared rate limits by).

Adding one (Bedrock, Vertex AI) is a module with `SECRET_VARIABLES` and `create`, a row in `PROVIDERS`, and its
name in `ModelSettings.provider` (base/config.py, which cannot import this package; a test holds the two equal).
"""

from __future__ import annotations

from pathlib import Path

from package_builder.base.config import BuildConfig
from package_builder.generation.providers import anthropic, record, replay
from package_builder.generation.providers.interface import ModelProvider, ModelReply, ModelRequest, ProviderModule, Say

__all__ = ["PROVIDERS", "ModelProvider", "ModelReply", "ModelRequest", "make_model"]

PROVIDERS: dict[str, ProviderModule] = {"anthropic": anthropic, "replay": replay, "record": record}


def make_model(config: BuildConfig, config_path: Path, say: Say = print) -> ModelProvider:
    """The provider the config names; a missing key or cassette is a clear `ConfigError`/`ModelCallError`."""
    return PROVIDERS[config.model.provider].create(config, config_path, say)
