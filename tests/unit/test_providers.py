"""Model providers sit behind one interface and one table: the config's `model.provider` names a row, each provider's
secrets are stripped from every command we run, and the API's rate-limit state stays where earlier versions kept it."""

from __future__ import annotations

import json
from typing import get_args

import pytest

from package_builder.base.config import BuildConfig, ModelSettings
from package_builder.base.credentials import SECRET_VARIABLES
from package_builder.base.errors import ConfigError, ModelCallError
from package_builder.generation.pacing import cache_dir
from package_builder.generation.providers import PROVIDERS, ModelRequest, make_model
from package_builder.generation.providers.anthropic import AnthropicModel, pacing_identity
from package_builder.generation.providers.record import RecordingModel
from package_builder.generation.providers.replay import ReplayModel

KEY = "sk-ant-test-key-not-a-real-secret"


def config(tmp_path, **model) -> BuildConfig:
    return BuildConfig.model_validate({"workspaceRoot": str(tmp_path), "model": model})


def test_every_provider_the_config_accepts_has_a_module_in_the_table():
    assert set(PROVIDERS) == set(get_args(ModelSettings.model_fields["provider"].annotation))


@pytest.mark.parametrize("name", sorted(PROVIDERS))
def test_every_providers_secret_variables_are_stripped_from_every_command(name):
    """base/credentials.py cannot import the providers: this fails the day one adds a secret that is not stripped."""
    assert PROVIDERS[name].SECRET_VARIABLES <= SECRET_VARIABLES


def test_the_api_paces_by_a_digest_of_its_key_in_the_state_file_earlier_versions_used(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)

    model = make_model(config(tmp_path), tmp_path / "config.json", print)

    assert isinstance(model, AnthropicModel) and model.pacing_identity == pacing_identity(KEY)
    assert KEY not in model.pacing_identity
    assert (cache_dir() / f"{model.pacing_identity}.v2.sqlite").is_file()


def test_a_replay_is_not_paced_and_a_recording_is_paced_as_the_api(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    cassette = tmp_path / "cassette.json"
    cassette.write_text(json.dumps({"interactions": []}))

    replay = make_model(config(tmp_path, provider="replay", cassette=str(cassette)), tmp_path / "c.json", print)
    record = make_model(config(tmp_path, provider="record", cassette=str(cassette)), tmp_path / "c.json", print)

    assert isinstance(replay, ReplayModel) and replay.pacing_identity is None
    assert isinstance(record, RecordingModel) and record.pacing_identity == pacing_identity(KEY)


def test_a_provider_missing_what_it_needs_says_which_field_or_variable(tmp_path, monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    with pytest.raises(ModelCallError, match=r'field model.cassette is required when model.provider is "replay"'):
        make_model(config(tmp_path, provider="replay"), tmp_path / "c.json", print)
    with pytest.raises(ConfigError, match="ANTHROPIC_API_KEY is not set"):
        make_model(config(tmp_path, provider="record"), tmp_path / "c.json", print)
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    with pytest.raises(ModelCallError, match=r'field model.cassette is required when model.provider is "record"'):
        make_model(config(tmp_path, provider="record"), tmp_path / "c.json", print)


def test_a_replayed_request_missing_from_the_cassette_says_what_to_do(tmp_path):
    cassette = tmp_path / "cassette.json"
    cassette.write_text(json.dumps({"interactions": []}))
    request = ModelRequest(model="m", system="s", messages=({"role": "user", "content": "hi"},), max_tokens=10)

    with pytest.raises(ModelCallError, match=r"PLANNING: no answer in cassette .*undo the edit"):
        ReplayModel(cassette).call(request, "PLANNING")
