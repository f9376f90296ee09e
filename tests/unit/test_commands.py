"""Workspace and toolchain commands have their own time limits: a long command says so while it runs, a command past
its limit is ended with everything it started, and the message names the setting and shows the output as text."""

from __future__ import annotations

import json
import time

import pytest

from package_builder.base.commands import Toolchain, is_yarn_berry


def toolchain(tmp_path, limit: float, lines: list) -> Toolchain:
    return Toolchain(
        tmp_path,
        tmp_path,
        "http://127.0.0.1:9/",
        timeout_seconds=limit,
        timeout_setting="builds.commandTimeoutSeconds",
        heartbeat=lines.append,
    )


def test_a_command_past_its_limit_is_ended_with_its_children_and_the_setting_is_named(tmp_path):
    lines = []
    started = time.monotonic()
    suite = "echo started the suite; seq 1 200; sleep 30 & sleep 30"  # more output than trimming keeps
    result = toolchain(tmp_path, 1.5, lines).run("tests", ["sh", "-c", suite])
    assert time.monotonic() - started < 10, "the background child did not keep the pipes open"
    assert result.timed_out and not result.ok
    assert not result.machine_failed, "a test suite that never ends is the code's to fix (the output says it timed out)"
    assert result.output.startswith("timed out after 2 s (builds.commandTimeoutSeconds)")
    assert "\n200" in result.output and "b'" not in result.output and 'b"' not in result.output
    assert lines and "still running after" in lines[0] and "(limit 2 s, builds.commandTimeoutSeconds)" in lines[0]


def test_a_quick_command_says_nothing_and_keeps_its_output(tmp_path):
    lines = []
    result = toolchain(tmp_path, 30, lines).run("build", ["sh", "-c", "echo built; echo warned >&2; exit 3"])
    assert result.exit_code == 3 and not result.timed_out and lines == []
    assert "built" in result.output and "warned" in result.output


def test_a_missing_program_is_a_machine_failure_not_a_crash(tmp_path):
    result = toolchain(tmp_path, 30, []).run("build", ["no-such-program-here"])
    assert result.program_missing and result.machine_failed and "cannot run no-such-program-here" in result.output


@pytest.mark.parametrize(
    "declared, yarnrc, berry",
    [
        ("yarn@4.5.3", False, True),
        ("yarn@1.22.22", True, False),
        (None, True, True),
        (None, False, False),
        ("pnpm@9.15.0", True, False),
    ],
)
def test_yarn_berry_is_told_from_packagemanager_or_its_yarnrc(tmp_path, declared, yarnrc, berry):
    (tmp_path / "package.json").write_text(json.dumps({"packageManager": declared} if declared else {}))
    if yarnrc:
        (tmp_path / ".yarnrc.yml").write_text("nodeLinker: node-modules\n")
    assert is_yarn_berry(tmp_path) is berry


def test_secrets_reach_no_command_but_a_config_naming_one_still_parses(tmp_path, monkeypatch):
    for name, value in (
        ("NPM_TOKEN", "npm-secret-1"),
        ("TURBO_TOKEN", "turbo-secret-2"),
        ("PACKAGE_BUILDER_REMOTE_CACHE_TOKEN", "cache-secret-3"),
        ("ANTHROPIC_API_KEY", "sk-4"),
        ("ANTHROPIC_AUTH_TOKEN", "sk-5"),
    ):
        monkeypatch.setenv(name, value)

    shown = (
        "[$NPM_TOKEN][$TURBO_TOKEN][$PACKAGE_BUILDER_REMOTE_CACHE_TOKEN][$ANTHROPIC_API_KEY]"
        "[$ANTHROPIC_AUTH_TOKEN] ${NPM_TOKEN+set}"
    )
    result = Toolchain(tmp_path, tmp_path, "http://127.0.0.1:9/").run("env", ["sh", "-c", f'echo "{shown}"'])

    assert result.ok
    assert result.output.strip() == "[][][][][] set", "present and empty: `${NPM_TOKEN}` in a .yarnrc.yml resolves"


def test_an_install_that_runs_out_of_time_is_the_machines_failure(tmp_path):
    result = toolchain(tmp_path, 1.0, []).run("install", ["sleep", "30"])
    assert result.timed_out and result.machine_failed


def test_a_script_calling_a_tool_it_never_installed_is_the_codes_failure(tmp_path):
    """`sh: tsup: not found` (exit 127) inside `npm run build`: a repair can add tsup to devDependencies."""
    result = toolchain(tmp_path, 30, []).run("build", ["sh", "-c", "tsup-not-installed-anywhere src/index.ts"])
    assert result.exit_code == 127 and not result.machine_failed


def test_a_ctrl_c_while_a_command_runs_ends_the_command_and_all_it_started(tmp_path):
    import signal
    import subprocess
    import sys
    import textwrap

    marker = tmp_path / "still-running"
    script = textwrap.dedent(f"""
        from pathlib import Path
        from package_builder.base.commands import Toolchain
        Toolchain(Path({str(tmp_path)!r}), Path({str(tmp_path)!r}), "http://127.0.0.1:9/").run(
            "install", ["sh", "-c", "sleep 1.5; touch {marker}"])
    """)
    process = subprocess.Popen([sys.executable, "-c", script], stderr=subprocess.DEVNULL)
    time.sleep(0.7)
    process.send_signal(signal.SIGINT)
    process.wait(10)
    time.sleep(1.5)
    assert not marker.exists(), "the install went on writing after the user pressed Ctrl-C"
