"""`configs/build-env.json`, validated with pydantic: the seed's camelCase fields plus model and git settings.

Secrets (`anthropicApiKey`, `npmToken`) are `SecretStr`, so they never show in a repr, a log or an error. The
environment (`ANTHROPIC_API_KEY`, `NPM_TOKEN`) wins over the file.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError
from pydantic.alias_generators import to_camel

from package_builder.base.credentials import npm_token
from package_builder.base.errors import ConfigError

DEFAULT_MODEL = "claude-sonnet-5-5"
FailureKind = Literal["dependency", "type", "lint", "build", "test", "coverage"]


class _Section(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)


class RateLimitCaps(_Section):
    """Limits of our own, below the API's, to leave room for other tools using the same key."""

    requests_per_minute: int | None = Field(default=None, ge=1)
    input_tokens_per_minute: int | None = Field(default=None, ge=1)
    output_tokens_per_minute: int | None = Field(default=None, ge=1)

    def by_kind(self) -> dict[str, int | None]:
        return {
            "requests": self.requests_per_minute,
            "input-tokens": self.input_tokens_per_minute,
            "output-tokens": self.output_tokens_per_minute,
        }


class PriceSettings(_Section):
    """USD per million tokens, when the built-in table (pricing.py) is not what you pay."""

    input: float = Field(ge=0)
    output: float = Field(ge=0)
    cache_write: float | None = Field(default=None, ge=0)  # default 1.25 × input
    cache_read: float | None = Field(default=None, ge=0)  # default 0.1 × input


class BudgetSettings(_Section):
    """Spending caps in USD (null: none). A call whose worst case would cross one is not made."""

    max_usd_per_package: float | None = Field(default=None, ge=0)
    max_usd_per_run: float | None = Field(default=None, ge=0)


class ModelSettings(_Section):
    """Which model answers, how: `anthropic` (the API), `replay` (a cassette, no network) or `record`."""

    provider: Literal["anthropic", "replay", "record"] = "anthropic"
    name: str = DEFAULT_MODEL
    cassette: Path | None = None
    max_retries: int = Field(default=4, ge=0, le=20)
    timeout_seconds: float = Field(default=600, gt=0)
    max_answer_repairs: int = Field(default=2, ge=0, le=10)
    max_continuations: int = Field(default=3, ge=0, le=20)  # a truncated answer is continued, not asked again
    stream_above_tokens: int = Field(default=4096, ge=1)
    progress_every_seconds: float = Field(default=30, gt=0)  # without a terminal: a line per running call this often
    max_wait_seconds: float = Field(default=900, ge=0)  # rate-limit and overload waits of one call, in all
    rate_limits: RateLimitCaps | None = None
    # where the rate-limit buckets are kept: this machine's cache (None), or Redis shared by workers on several
    # machines ("redis://host:6379/0"), so one API key has one limit across them
    rate_limit_store: str | None = Field(default=None, pattern=r"^rediss?://")
    prices: PriceSettings | None = None
    # Models after claude-opus-4-6 reject a sampling temperature (400) and SDK 1.x dropped the argument: the phases'
    # temperatures are sent (through extra_body) only when this is true, for models that still accept them.
    send_temperature: bool = False


class GitSettings(_Section):
    """Author of generation commits (used even when the machine has no git identity), and what MERGE does with the
    finished branch: `pr` writes a pull request's title and body (`.generation-state/<plan>/PR.md`), `merge` merges
    it into its base (`--no-ff`, only when the package is green and the base has not moved), `none` only checks it."""

    author_name: str = "package-builder"
    author_email: str = "package-builder@localhost"
    branch_prefix: str = "feat/package-generation-"
    on_merge: Literal["none", "merge", "pr"] = "pr"


class TurnBasedGeneration(_Section):
    """Which phases run, with what budgets; `maxConcurrentPhases` bounds the phases (of any packages) running at once
    in one workspace, whatever runs them (`doit -n`, two terminals, a Temporal worker): generation spends money and
    shares the API's rate limits, so one at a time unless asked."""

    enabled: bool = True
    max_concurrent_phases: int = Field(default=1, ge=1, le=16)
    phases_to_execute: list[str] | None = None
    phases_to_skip: list[str] = []
    token_budgets: dict[str, int] = {}
    temperatures: dict[str, float] = {}
    # How much of each workspace dependency's public API (and README usage) a prompt shows, in characters: it sits in
    # every phase's cached prefix, so a big sibling is trimmed rather than paid for in full on every call.
    dependency_api_chars: int = Field(default=8000, ge=500, le=200_000)


class BuildValidationSettings(_Section):
    """BUILD_VALIDATION runs the real toolchain; failures go back to the model at most `maxRepairAttempts` times in all,
    and at most `maxAttemptsPerFailure[kind]` times for one kind (a type error may deserve three tries, a missing
    dependency one). `typeCheckBetweenPhases` runs a cheap tsc after each code-writing phase."""

    enabled: bool = True
    max_repair_attempts: int = Field(default=2, ge=0, le=10)
    command_timeout_seconds: float = Field(default=600, gt=0)
    ignore_scripts: bool = True
    type_check_between_phases: bool = True
    max_attempts_per_failure: dict[FailureKind, int] = Field(default_factory=dict)


class RemoteCacheSettings(_Section):
    """A server speaking Turborepo's remote-cache HTTP API (`/v8/artifacts/<hash>`), shared by a team and CI. The
    token comes from `PACKAGE_BUILDER_REMOTE_CACHE_TOKEN` (or `TURBO_TOKEN`), else `token`."""

    url: str = Field(pattern=r"^https?://")
    team: str = "package-builder"
    token: SecretStr | None = None
    timeout_seconds: float = Field(default=30, gt=0)


class BuildsSettings(_Section):
    """`doit build/test/publish`: how long one workspace command (install, build, test, publish) may run, and the
    content-addressed cache of build outputs and test results (`.package-builder/cache/`, oldest out first)."""

    command_timeout_seconds: float = Field(default=1800, gt=0)
    package_timeouts: dict[str, float] = Field(default_factory=dict)  # npm name → seconds, for the slow ones
    cache: bool = True
    cache_max_megabytes: float = Field(default=1024, gt=0)
    remote_cache: RemoteCacheSettings | None = None


class PackageBuilderSection(_Section):
    """Task definitions for a repo without a turbo.json (or over it), in turbo.json's own schema."""

    tasks: dict[str, dict] = Field(default_factory=dict)


class TestingSettings(_Section):
    enable_coverage: bool = True
    min_coverage_percent: int | None = Field(default=None, ge=0, le=100)
    fail_on_error: bool = True


class PublishingSettings(_Section):
    """`doit publish`: what to check before a package goes out, and how it is tagged."""

    dry_run: bool = False
    require_tests: bool = True
    require_clean_working_directory: bool = True
    tag: str = Field(default="latest", pattern=r"^[A-Za-z][A-Za-z0-9._-]*$")
    access: Literal["public", "restricted"] | None = None


class TemporalSettings(_Section):
    """Where `python -m package_builder.temporal` finds its cluster; `workspaceRemote`: the monorepo as a git remote,
    for workers on several machines (each keeps its own clone in its `workspaceRoot`)."""

    address: str = "127.0.0.1:7233"
    namespace: str = "default"
    task_queue: str = "package-builder"
    workspace_remote: str | None = None
    # how long a phase's worker may go silent before Temporal gives the phase to another worker
    heartbeat_timeout_seconds: int = Field(default=30, ge=3, le=3600)


class BuildConfig(_Section):
    """The whole config file; `workspaceRoot` is resolved against the config file's folder."""

    workspace_root: Path
    plans_dir: Path | None = None  # where the plans are (`<category>/<name>.md`); default the checkout's plans/packages
    npm_registry: str = "https://registry.npmjs.org/"
    npm_token: SecretStr | None = None
    anthropic_api_key: SecretStr | None = None
    max_concurrent_builds: int = Field(default=4, ge=1, le=64)
    global_build_inputs: list[str] = Field(default_factory=list)  # globs under workspaceRoot every build depends on
    model: ModelSettings = ModelSettings()
    git: GitSettings = GitSettings()
    turn_based_generation: TurnBasedGeneration = TurnBasedGeneration()
    build_validation: BuildValidationSettings = BuildValidationSettings()
    testing: TestingSettings = TestingSettings()
    publishing: PublishingSettings = PublishingSettings()
    temporal: TemporalSettings = TemporalSettings()
    budget: BudgetSettings = BudgetSettings()
    builds: BuildsSettings = BuildsSettings()
    package_builder: PackageBuilderSection = PackageBuilderSection()

    def npm_token_value(self) -> str | None:
        return npm_token(self)

    def api_key(self, config_path: Path) -> str:
        """`ANTHROPIC_API_KEY`, else `anthropicApiKey`; a clear error when neither is set."""
        configured = self.anthropic_api_key.get_secret_value() if self.anthropic_api_key else ""
        key = os.environ.get("ANTHROPIC_API_KEY") or configured
        if not key:
            raise ConfigError(
                f"ANTHROPIC_API_KEY is not set (nor anthropicApiKey in {config_path}); "
                'export it, or set model.provider to "replay" with a cassette'
            )
        return key


def leaf_kinds(model: type[BaseModel] = BuildConfig, prefix: str = "") -> dict[str, str]:
    """Which fields (by dotted alias) are sections, paths or secrets: what a `ConfigSnapshot` gives back as such."""
    kinds: dict[str, str] = {}
    for name, field in model.model_fields.items():
        where = prefix + (field.alias or name)  # every section generates aliases: `or name` only narrows the type
        for annotation in [arg for arg in get_args(field.annotation) if arg is not type(None)] or [field.annotation]:
            if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                kinds[where] = "section"
                kinds.update(leaf_kinds(annotation, where + "."))
            elif annotation is Path:
                kinds[where] = "path"
            elif annotation is SecretStr:
                kinds[where] = "secret"
    return kinds


def load_config(config_path: Path, phase_names: tuple[str, ...] = ()) -> BuildConfig:
    """Read and validate the config; every error names the file and the field."""
    if not config_path.is_file():
        raise ConfigError(
            f"{config_path}: config file not found; copy configs/build-env.example.json to "
            "configs/build-env.json and set workspaceRoot (or set PACKAGE_BUILDER_CONFIG)"
        )
    try:
        raw = json.loads(config_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{config_path}: cannot read: {exc}") from exc
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{config_path}: not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"{config_path}: must hold a JSON object")
    raw.pop("$comment", None)
    try:
        config = BuildConfig.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "(top level)"
        if first["type"] == "extra_forbidden":
            raise ConfigError(f"{config_path}: field {field}: {_unknown_field(first['loc'])}") from None
        raise ConfigError(f"{config_path}: field {field}: {first['msg']}") from None

    base = config_path.parent
    updates: dict = {"workspace_root": (base / config.workspace_root).resolve()}
    if config.plans_dir is not None:
        updates["plans_dir"] = (base / config.plans_dir).resolve()
    if config.model.cassette is not None:
        updates["model"] = config.model.model_copy(update={"cassette": (base / config.model.cassette).resolve()})
    config = config.model_copy(update=updates)
    _check_phase_names(config_path, config.turn_based_generation, phase_names)
    return config


def _unknown_field(loc: tuple) -> str:
    """What to say about a field no section has: the nearest known name (a typo is the usual cause), else the list."""
    import difflib

    section: type[BaseModel] = BuildConfig
    for part in loc[:-1]:
        field = next((f for name, f in section.model_fields.items() if part in (name, f.alias)), None)
        nested = (
            [
                arg
                for arg in (get_args(field.annotation) or [field.annotation])
                if isinstance(arg, type) and issubclass(arg, BaseModel)
            ]
            if field
            else []
        )
        if not nested:
            return "unknown field; remove it"
        section = nested[0]
    known = [field.alias or name for name, field in section.model_fields.items()]
    close = difflib.get_close_matches(str(loc[-1]), known, n=1, cutoff=0.6)
    if close:
        return f"unknown field; did you mean {close[0]}? (configs/build-env.example.json documents every field)"
    where = f" of {'.'.join(str(part) for part in loc[:-1])}" if len(loc) > 1 else ""
    return f"unknown field; the fields{where} are {', '.join(known)}"


def _check_phase_names(config_path: Path, settings: TurnBasedGeneration, phase_names: tuple[str, ...]) -> None:
    if not phase_names:
        return
    fields = {
        "phasesToExecute": settings.phases_to_execute or [],
        "phasesToSkip": settings.phases_to_skip,
        "tokenBudgets": list(settings.token_budgets),
        "temperatures": list(settings.temperatures),
    }
    for field, names in fields.items():
        for name in names:
            if name not in phase_names:
                raise ConfigError(
                    f"{config_path}: field turnBasedGeneration.{field}: unknown phase {name!r}; "
                    f"phases are {', '.join(phase_names)}"
                )
