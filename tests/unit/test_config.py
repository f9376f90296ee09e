"""Fast: `configs/build-env.json` (package_builder/base/config.py).

A user writes camelCase JSON; every mistake comes back naming the file and the field, relative paths mean "from the
config's folder", and secrets never show up in a repr, a dump or an error.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import phases
from package_builder.base.config import DEFAULT_MODEL, load_config
from package_builder.base.errors import ConfigError

SECRET = "sk-ant-unit-test-secret-value-42"
NPM_SECRET = "npm_unit_test_token_value_77"


@pytest.fixture(autouse=True)
def no_ambient_secrets(monkeypatch):
    """The developer's own shell must not leak into these tests."""
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.delenv("NPM_TOKEN", raising=False)


def write_config(tmp_path: Path, content) -> Path:
    path = tmp_path / "project" / "configs" / "build-env.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
    return path


def refused(path: Path, phase_names: tuple[str, ...] = ()) -> str:
    with pytest.raises(ConfigError) as error:
        load_config(path, phase_names)
    assert str(path) in str(error.value), "a config error must name the config file"
    return str(error.value)


def test_a_config_with_only_workspace_root_gets_the_documented_defaults(tmp_path):
    config = load_config(write_config(tmp_path, {"workspaceRoot": str(tmp_path / "ws")}))
    assert config.workspace_root == tmp_path / "ws"
    assert config.npm_registry == "https://registry.npmjs.org/"
    assert config.max_concurrent_builds == 4 and config.global_build_inputs == []
    assert (config.model.provider, config.model.name, config.model.max_retries) == ("anthropic", DEFAULT_MODEL, 4)
    assert config.model.send_temperature is False and config.model.cassette is None
    assert config.git.author_name == "package-builder" and config.git.branch_prefix == "feat/package-generation-"
    assert config.turn_based_generation.enabled and config.turn_based_generation.phases_to_execute is None
    assert config.build_validation.max_repair_attempts == 2 and config.build_validation.ignore_scripts
    assert config.testing.enable_coverage and config.testing.min_coverage_percent is None
    assert (config.publishing.tag, config.publishing.access, config.publishing.dry_run) == ("latest", None, False)
    assert config.anthropic_api_key is None and config.npm_token is None


def test_camel_case_fields_reach_their_settings(tmp_path):
    config = load_config(
        write_config(
            tmp_path,
            {
                "workspaceRoot": "/ws",
                "maxConcurrentBuilds": 8,
                "globalBuildInputs": ["tools/**"],
                "model": {"maxRetries": 1, "timeoutSeconds": 30, "maxAnswerRepairs": 0, "sendTemperature": True},
                "git": {"authorName": "Bot", "authorEmail": "bot@example.test"},
                "turnBasedGeneration": {"phasesToSkip": ["EXAMPLES"], "tokenBudgets": {"TESTING": 9000}},
                "buildValidation": {"maxRepairAttempts": 5, "maxAttemptsPerFailure": {"type": 3}},
                "testing": {"minCoveragePercent": 75},
                "publishing": {"dryRun": True, "access": "public", "tag": "next"},
            },
        )
    )
    assert config.max_concurrent_builds == 8 and config.global_build_inputs == ["tools/**"]
    assert (config.model.max_retries, config.model.timeout_seconds, config.model.max_answer_repairs) == (1, 30, 0)
    assert config.model.send_temperature is True
    assert (config.git.author_name, config.git.author_email) == ("Bot", "bot@example.test")
    assert config.turn_based_generation.phases_to_skip == ["EXAMPLES"]
    assert config.turn_based_generation.token_budgets == {"TESTING": 9000}
    assert config.build_validation.max_repair_attempts == 5
    assert config.build_validation.max_attempts_per_failure == {"type": 3}
    assert config.testing.min_coverage_percent == 75
    assert (config.publishing.dry_run, config.publishing.access, config.publishing.tag) == (True, "public", "next")


def test_a_relative_workspace_root_is_resolved_against_the_config_files_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # not the config's folder: the answer must not depend on where doit runs
    path = write_config(tmp_path, {"workspaceRoot": "../../monorepo"})
    assert load_config(path).workspace_root == (tmp_path / "monorepo").resolve()


def test_a_relative_cassette_is_resolved_against_the_config_files_folder(tmp_path):
    path = write_config(tmp_path, {"workspaceRoot": "/ws", "model": {"provider": "replay", "cassette": "tapes/a.json"}})
    assert load_config(path).model.cassette == (path.parent / "tapes" / "a.json").resolve()


def test_an_absolute_workspace_root_is_kept(tmp_path):
    config = load_config(write_config(tmp_path, {"workspaceRoot": str(tmp_path / "abs")}))
    assert config.workspace_root == tmp_path / "abs"


def test_a_comment_field_is_allowed(tmp_path):
    config = load_config(write_config(tmp_path, {"$comment": "copied from the example", "workspaceRoot": "/ws"}))
    assert config.workspace_root == Path("/ws")


@pytest.mark.parametrize(
    "content, field",
    [
        (
            {"workspaceRoot": "/ws", "colour": "red"},
            "field colour: unknown field; the fields are workspaceRoot, plansDir",
        ),
        ({"workspaceRoot": "/ws", "model": {"temprature": 0.2}}, "field model.temprature: unknown field"),
        (
            {"workspaceRoot": "/ws", "git": {"colour": "me"}},
            "field git.colour: unknown field; the fields of git are authorName, authorEmail, branchPrefix, onMerge",
        ),
    ],
)
def test_an_unknown_field_is_named_with_its_section(tmp_path, content, field):
    assert field in refused(write_config(tmp_path, content))


@pytest.mark.parametrize(
    "content, field, meant",
    [
        ({"workspaceRoot": "/ws", "maxConcurentBuilds": 2}, "maxConcurentBuilds", "maxConcurrentBuilds"),
        ({"workspaceRoot": "/ws", "plansdir": "plans"}, "plansdir", "plansDir"),
        ({"workspaceRoot": "/ws", "git": {"author": "me"}}, "git.author", "authorName"),
        (
            {"workspaceRoot": "/ws", "builds": {"remote_cache": {"url": "http://c", "tem": "x"}}},
            "builds.remote_cache.tem",
            "team",
        ),
    ],
)
def test_a_misspelt_field_is_refused_with_the_name_it_was_meant_to_be(tmp_path, content, field, meant):
    assert f"field {field}: unknown field; did you mean {meant}?" in refused(write_config(tmp_path, content))


@pytest.mark.parametrize(
    "content, field",
    [
        ({}, "field workspaceRoot: Field required"),
        (
            {"workspaceRoot": "/ws", "maxConcurrentBuilds": "lots"},
            "field maxConcurrentBuilds: Input should be a valid integer",
        ),
        (
            {"workspaceRoot": "/ws", "maxConcurrentBuilds": 0},
            "field maxConcurrentBuilds: Input should be greater than or equal to 1",
        ),
        (
            {"workspaceRoot": "/ws", "model": {"maxRetries": 99}},
            "field model.maxRetries: Input should be less than or equal to 20",
        ),
        ({"workspaceRoot": "/ws", "model": {"provider": "openai"}}, "field model.provider: Input should be"),
        ({"workspaceRoot": "/ws", "testing": {"minCoveragePercent": 101}}, "field testing.minCoveragePercent"),
        ({"workspaceRoot": "/ws", "publishing": {"tag": "1.0"}}, "field publishing.tag: String should match pattern"),
        ({"workspaceRoot": "/ws", "publishing": {"access": "private"}}, "field publishing.access"),
        (
            {"workspaceRoot": "/ws", "buildValidation": {"maxAttemptsPerFailure": {"typo": 1}}},
            "field buildValidation.maxAttemptsPerFailure.typo",
        ),
        (
            {"workspaceRoot": "/ws", "turnBasedGeneration": {"phasesToSkip": "TESTING"}},
            "field turnBasedGeneration.phasesToSkip: Input should be a valid list",
        ),
    ],
)
def test_a_field_of_the_wrong_type_or_range_is_named(tmp_path, content, field):
    assert field in refused(write_config(tmp_path, content))


def test_a_missing_config_file_says_how_to_create_one(tmp_path):
    message = refused(tmp_path / "configs" / "build-env.json")
    assert "config file not found" in message and "build-env.example.json" in message


def test_invalid_json_is_refused_with_line_and_column(tmp_path):
    assert "not valid JSON" in (message := refused(write_config(tmp_path, '{\n  "workspaceRoot": "/ws",\n}\n')))
    assert "line 3 column 1" in message


def test_a_json_value_that_is_not_an_object_is_refused(tmp_path):
    assert "must hold a JSON object" in refused(write_config(tmp_path, '["/ws"]'))


# --- secrets ---------------------------------------------------------------------------------------------------------


def test_secrets_never_show_in_repr_str_or_a_dump(tmp_path):
    config = load_config(
        write_config(tmp_path, {"workspaceRoot": "/ws", "anthropicApiKey": SECRET, "npmToken": NPM_SECRET})
    )
    for shown in (repr(config), str(config), config.model_dump_json(), repr(config.model_dump())):
        assert SECRET not in shown and NPM_SECRET not in shown
    assert config.anthropic_api_key.get_secret_value() == SECRET  # still there for the one place that needs it


def test_a_secret_never_shows_in_the_error_about_another_field(tmp_path):
    message = refused(
        write_config(
            tmp_path,
            {"workspaceRoot": "/ws", "anthropicApiKey": SECRET, "npmToken": NPM_SECRET, "maxConcurrentBuilds": "many"},
        )
    )
    assert SECRET not in message and NPM_SECRET not in message


def test_a_secret_of_the_wrong_type_is_named_without_echoing_it(tmp_path):
    message = refused(write_config(tmp_path, {"workspaceRoot": "/ws", "anthropicApiKey": 4242424242}))
    assert "field anthropicApiKey" in message and "4242424242" not in message


def test_the_environment_api_key_wins_over_the_config_file(tmp_path, monkeypatch):
    path = write_config(tmp_path, {"workspaceRoot": "/ws", "anthropicApiKey": "from-the-file"})
    config = load_config(path)
    assert config.api_key(path) == "from-the-file"
    monkeypatch.setenv("ANTHROPIC_API_KEY", "from-the-environment")
    assert config.api_key(path) == "from-the-environment"


def test_an_empty_environment_api_key_falls_back_to_the_file(tmp_path, monkeypatch):
    path = write_config(tmp_path, {"workspaceRoot": "/ws", "anthropicApiKey": "from-the-file"})
    monkeypatch.setenv("ANTHROPIC_API_KEY", "")
    assert load_config(path).api_key(path) == "from-the-file"


def test_without_any_api_key_the_error_says_where_to_set_one(tmp_path):
    path = write_config(tmp_path, {"workspaceRoot": "/ws"})
    config = load_config(path)
    with pytest.raises(ConfigError) as error:
        config.api_key(path)
    message = str(error.value)
    assert "ANTHROPIC_API_KEY is not set" in message and f"anthropicApiKey in {path}" in message
    assert '"replay"' in message


def test_the_environment_npm_token_wins_over_the_config_file(tmp_path, monkeypatch):
    config = load_config(write_config(tmp_path, {"workspaceRoot": "/ws", "npmToken": "from-the-file"}))
    assert config.npm_token_value() == "from-the-file"
    monkeypatch.setenv("NPM_TOKEN", "from-the-environment")
    assert config.npm_token_value() == "from-the-environment"


def test_no_npm_token_anywhere_is_none(tmp_path):
    assert load_config(write_config(tmp_path, {"workspaceRoot": "/ws"})).npm_token_value() is None


# --- phase names in turnBasedGeneration ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "field, value",
    [
        ("phasesToExecute", ["PLANNING", "TESTNG"]),
        ("phasesToSkip", ["TESTNG"]),
        ("tokenBudgets", {"TESTNG": 1000}),
        ("temperatures", {"TESTNG": 0.1}),
    ],
)
def test_an_unknown_phase_name_in_turn_based_generation_is_named_with_its_field(tmp_path, field, value):
    path = write_config(tmp_path, {"workspaceRoot": "/ws", "turnBasedGeneration": {field: value}})
    message = refused(path, phases.PHASE_NAMES)
    assert f"field turnBasedGeneration.{field}: unknown phase 'TESTNG'" in message
    assert "TESTING" in message  # the valid names are listed, so the typo is easy to spot


def test_known_phase_names_in_turn_based_generation_are_accepted(tmp_path):
    path = write_config(
        tmp_path,
        {
            "workspaceRoot": "/ws",
            "turnBasedGeneration": {
                "phasesToExecute": ["PLANNING", "TESTING"],
                "phasesToSkip": ["EXAMPLES"],
                "tokenBudgets": {"TESTING": 8000},
                "temperatures": {"PLANNING": 0.1},
            },
        },
    )
    assert load_config(path, phases.PHASE_NAMES).turn_based_generation.phases_to_execute == ["PLANNING", "TESTING"]


def test_phase_names_are_only_checked_when_the_caller_gives_the_list(tmp_path):
    path = write_config(tmp_path, {"workspaceRoot": "/ws", "turnBasedGeneration": {"phasesToSkip": ["TESTNG"]}})
    assert load_config(path).turn_based_generation.phases_to_skip == ["TESTNG"]
