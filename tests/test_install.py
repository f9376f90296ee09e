"""An install that works anywhere: the wheel holds every subpackage, every phase declaration and every prompt, and its
`package-builder` command, installed (not editable) into a fresh venv outside the checkout, lists the tasks and
generates the bundled example from another folder, with the installed package's own phases and prompts."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from conftest import PHASES, REPO, TOOLS_BIN

SOURCES = ("package_builder", "phases", "prompts")  # what the wheel is built from, besides the top-level files


def copy_source(target: Path) -> Path:
    """The checkout as a user builds it (top-level files, the package, phases/, prompts/), copied so the build's
    `build/` folder never lands in the checkout."""
    target.mkdir(parents=True)
    for path in REPO.iterdir():
        if path.is_file():
            shutil.copy(path, target / path.name)
    for name in SOURCES:
        shutil.copytree(REPO / name, target / name, ignore=shutil.ignore_patterns("__pycache__", ".package-builder"))
    return target


@pytest.fixture(scope="session")
def built(tmp_path_factory) -> tuple[Path, Path]:
    """(the source tree it was built from, the wheel): `pip wheel`, as a user or a CI job builds it."""
    source = copy_source(tmp_path_factory.mktemp("source") / "package-builder")
    out = tmp_path_factory.mktemp("wheel")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--disable-pip-version-check",
            "--quiet",
            "--wheel-dir",
            str(out),
            str(source),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    (wheel,) = out.glob("package_builder-*.whl")
    return source, wheel


@pytest.mark.slow  # building a wheel sets up an isolated build environment: 3 s on an idle machine, 13 s on a busy one
def test_the_wheel_holds_every_subpackage_every_phase_and_every_prompt_and_the_command(built):
    source, wheel = built
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        entry_points = "".join(archive.read(name).decode() for name in names if name.endswith("/entry_points.txt"))
    modules = {
        f"package_builder/{path.relative_to(source / 'package_builder').as_posix()}"
        for path in (source / "package_builder").rglob("*.py")
    }
    phases = {f"package_builder/phases/{path.name}" for path in (source / "phases").glob("*.py")}
    prompts = {
        f"package_builder/prompts/{path.relative_to(source / 'prompts').as_posix()}"
        for path in (source / "prompts").rglob("*.j2")
    }
    assert {
        "package_builder/generation/runner/__init__.py",
        "package_builder/tasks/__init__.py",
        "package_builder/base/commands.py",
        "package_builder/builds/steps.py",
        "package_builder/generation/writer/__init__.py",
    } <= modules
    assert len(phases) > 15 and any("/files/" in name for name in prompts)

    assert modules - names == set()
    assert phases - names == set()
    assert prompts - names == set()
    assert not any(name.startswith(("phases/", "prompts/")) for name in names), "no generic top-level name installed"
    assert "package-builder = package_builder.cli:main" in entry_points


def run_env(tmp_path: Path, venv: Path, **extra: str) -> dict:
    """A user's shell outside the checkout: the fresh venv first on PATH, nothing of the checkout's Python, no key."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("ANTHROPIC_", "GIT_", "PACKAGE_BUILDER_", "npm_config_", "PYTHON", "VIRTUAL_ENV"))
    }
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env.update(
        PATH=os.pathsep.join([str(venv / "bin"), str(TOOLS_BIN), os.environ.get("PATH", "")]),
        HOME=str(home),
        GIT_CONFIG_NOSYSTEM="1",
        PYTHONUNBUFFERED="1",
        ANTHROPIC_BASE_URL="http://127.0.0.1:9",
    )  # replayed: any call that tried the network would fail
    env.update(extra)
    return env


def install_non_editable(wheel: Path, venv: Path) -> None:
    """A fresh venv with the wheel and its dependencies, at the versions the checkout's venv runs (found in pip's
    cache, so no resolving against the index)."""
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    frozen = subprocess.run(
        [sys.executable, "-m", "pip", "freeze", "--exclude-editable", "--disable-pip-version-check"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    constraints = venv / "constraints.txt"
    constraints.write_text("\n".join(line for line in frozen.splitlines() if "==" in line) + "\n")
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PYTHON", "VIRTUAL_ENV"))}
    result = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "--quiet",
            "--constraint",
            str(constraints),
            str(wheel),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def example_project(tmp_path: Path) -> tuple[Path, Path]:
    """The bundled example's config, cassette and plan copied out of the checkout, its `workspaceRoot` a fresh git
    repo beside it (relative, as the config file's folder resolves it), as `scripts/example` makes."""
    example = tmp_path / "example"
    shutil.copytree(REPO / "examples" / "data-validator", example, ignore=shutil.ignore_patterns(".package-builder"))
    config = example / "build-env.json"
    values = json.loads(config.read_text())
    values["workspaceRoot"] = "../workspace"
    config.write_text(json.dumps(values, indent=2))
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    (workspace / "README.md").write_text("# example monorepo\n")
    for args in (
        ("init", "--quiet", "--initial-branch=main"),
        ("add", "README.md"),
        ("-c", "user.name=example", "-c", "user.email=example@localhost", "commit", "--quiet", "-m", "init"),
    ):
        subprocess.run(["git", *args], cwd=workspace, check=True, env={**os.environ, "GIT_CONFIG_NOSYSTEM": "1"})
    return config, workspace


def command_line(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess:
    """`package-builder` as the checkout's own (editable) install runs it: its phases and prompts are the checkout's
    folders, mapped by pyproject.toml's package-dir, whatever folder it is run from."""
    clean = {key: value for key, value in os.environ.items() if not key.startswith(("PACKAGE_BUILDER_", "ANTHROPIC_"))}
    return subprocess.run(
        [sys.executable, "-m", "package_builder.cli", *args],
        cwd=cwd,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_command_lists_a_configs_plans_from_another_folder_and_keeps_doits_record_beside_the_config(tmp_path):
    config, workspace = example_project(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    listing = command_line("--config", str(config), "list", "--all", cwd=elsewhere)
    from_env = command_line("list", cwd=elsewhere, PACKAGE_BUILDER_CONFIG=str(config))
    status = command_line(f"--config={config}", cwd=elsewhere)  # a bare run: the default task, status

    assert listing.returncode == 0, listing.stdout + listing.stderr
    assert "generate:data-validator:15-merge" in listing.stdout and "estimate:data-validator" in listing.stdout
    assert from_env.returncode == 0 and "generate:data-validator " in from_env.stdout, from_env.stderr
    assert status.returncode == 0 and "not started" in status.stdout, status.stdout + status.stderr
    assert "run `package-builder list` for the tasks" in status.stdout, "the hint names the command that was run"
    assert (config.parent / ".package-builder" / "build-env.doit.db").is_file()
    assert (config.parent / ".package-builder" / ".gitignore").read_text().endswith("*\n")  # never committed
    assert list(elsewhere.iterdir()) == []


def test_the_command_without_a_usable_config_says_what_to_pass(tmp_path):
    missing = command_line("list", cwd=tmp_path)
    absent = command_line("--config", str(tmp_path / "nowhere.json"), "list", cwd=tmp_path)
    dangling = command_line("list", "--config", cwd=tmp_path)

    assert missing.returncode == 2 and "pass --config path/to/build-env.json" in missing.stderr
    assert "PACKAGE_BUILDER_CONFIG" in missing.stderr
    assert (
        absent.returncode == 2
        and f"config file {tmp_path / 'nowhere.json'} (from --config) does not exist" in absent.stderr
    )
    assert dangling.returncode == 2 and "--config needs a path" in dangling.stderr
    assert "Traceback" not in missing.stderr + absent.stderr + dangling.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow  # a venv with every dependency, then the whole example through the real npm toolchain
def test_an_installed_wheel_lists_and_generates_the_example_from_a_folder_outside_the_checkout(
    built, tmp_path, npm_cache
):
    _, wheel = built
    venv = tmp_path / "venv"
    install_non_editable(wheel, venv)
    config, workspace = example_project(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = run_env(tmp_path, venv, npm_config_cache=str(npm_cache))
    command = str(venv / "bin" / "package-builder")

    def package_builder(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        return subprocess.run([command, *args], cwd=elsewhere, env=env, capture_output=True, text=True, timeout=timeout)

    version = package_builder("--version")
    site_packages = next((venv / "lib").glob("python3*/site-packages")).resolve()
    assert version.stdout.strip().endswith(f"({site_packages / 'package_builder'})"), version.stdout
    direct_url = next(site_packages.glob("package_builder-*.dist-info")) / "direct_url.json"
    assert '"editable": true' not in (direct_url.read_text() if direct_url.exists() else "")

    listing = package_builder("--config", str(config), "list")
    assert listing.returncode == 0, listing.stdout + listing.stderr
    assert "generate:data-validator" in listing.stdout and "estimate" in listing.stdout

    run = package_builder("--config", str(config), "generate:data-validator", timeout=900)

    assert run.returncode == 0, run.stdout + run.stderr
    for number, name in enumerate(PHASES, start=1):
        assert f"phase {number:02d}/15 {name}" in run.stdout
    assert "15/15 phases done" in run.stdout
    (state_file,) = (workspace / ".generation-state").glob("gen-*.json")
    state = json.loads(state_file.read_text())
    assert state["status"] == "completed"
    assert [step["stepNumber"] for step in state["completedSteps"]] == list(range(1, 16))
    assert (config.parent / ".package-builder" / "build-env.doit.db").is_file()  # doit's record: beside the config
    assert list(elsewhere.iterdir()) == []  # nothing written where the command was run
    assert not (site_packages / "package_builder" / ".package-builder").exists()  # nor into the install

    status = package_builder("--config", str(config), "status")
    assert status.returncode == 0 and "done" in status.stdout, status.stdout + status.stderr
