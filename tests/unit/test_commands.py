"""Workspace and toolchain commands have their own time limits: a long command says so while it runs, a command past
its limit is ended with everything it started, and the message names the setting and shows the output as text."""
from __future__ import annotations

import json
import time

import pytest

from package_builder.base.commands import Toolchain, is_yarn_berry


def toolchain(tmp_path, limit: float, lines: list) -> Toolchain:
    return Toolchain(tmp_path, tmp_path, "http://127.0.0.1:9/", timeout_seconds=limit,
                     timeout_setting="builds.commandTimeoutSeconds", heartbeat=lines.append)


def test_a_command_past_its_limit_is_ended_with_its_children_and_the_setting_is_named(tmp_path):
    lines = []
    started = time.monotonic()
    result = toolchain(tmp_path, 1.5, lines).run("tests", ["sh", "-c", "echo started the suite; sleep 30 & sleep 30"])
    assert time.monotonic() - started < 10, "the background child did not keep the pipes open"
    assert result.timed_out and not result.ok and result.machine_failed
    assert result.output.startswith("timed out after 2 s (builds.commandTimeoutSeconds)")
    assert "started the suite" in result.output and "b'" not in result.output and 'b"' not in result.output
    assert lines and "still running after" in lines[0] and "(limit 2 s, builds.commandTimeoutSeconds)" in lines[0]


def test_a_quick_command_says_nothing_and_keeps_its_output(tmp_path):
    lines = []
    result = toolchain(tmp_path, 30, lines).run("build", ["sh", "-c", "echo built; echo warned >&2; exit 3"])
    assert result.exit_code == 3 and not result.timed_out and lines == []
    assert "built" in result.output and "warned" in result.output


def test_a_missing_program_is_a_machine_failure_not_a_crash(tmp_path):
    result = toolchain(tmp_path, 30, []).run("build", ["no-such-program-here"])
    assert result.program_missing and result.machine_failed and "cannot run no-such-program-here" in result.output


@pytest.mark.parametrize("declared, yarnrc, berry", [
    ("yarn@4.5.3", False, True), ("yarn@1.22.22", True, False), (None, True, True), (None, False, False),
    ("pnpm@9.15.0", True, False)])
def test_yarn_berry_is_told_from_packagemanager_or_its_yarnrc(tmp_path, declared, yarnrc, berry):
    (tmp_path / "package.json").write_text(json.dumps({"packageManager": declared} if declared else {}))
    if yarnrc:
        (tmp_path / ".yarnrc.yml").write_text("nodeLinker: node-modules\n")
    assert is_yarn_berry(tmp_path) is berry


def test_secrets_reach_no_command_but_a_config_naming_one_still_parses(tmp_path, monkeypatch):
    for name, value in (("NPM_TOKEN", "npm-secret-1"), ("TURBO_TOKEN", "turbo-secret-2"),
                        ("PACKAGE_BUILDER_REMOTE_CACHE_TOKEN", "cache-secret-3"), ("ANTHROPIC_API_KEY", "sk-4"),
                        ("ANTHROPIC_AUTH_TOKEN", "sk-5")):
        monkeypatch.setenv(name, value)

    shown = ("[$NPM_TOKEN][$TURBO_TOKEN][$PACKAGE_BUILDER_REMOTE_CACHE_TOKEN][$ANTHROPIC_API_KEY]"
             "[$ANTHROPIC_AUTH_TOKEN] ${NPM_TOKEN+set}")
    result = Toolchain(tmp_path, tmp_path, "http://127.0.0.1:9/").run("env", ["sh", "-c", f"echo \"{shown}\""])

    assert result.ok
    assert result.output.strip() == "[][][][][] set", "present and empty: `${NPM_TOKEN}` in a .yarnrc.yml resolves"
