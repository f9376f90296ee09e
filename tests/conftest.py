"""Fixtures for driving package-builder the way a user does: a copy of the project, a workspace git repo, `doit`
as a subprocess, and a Messages API server on 127.0.0.1 that the real anthropic SDK talks to."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from messages_api import MessagesAPIServer, Text

REPO = Path(__file__).resolve().parent.parent
ANSWERS = REPO / "examples" / "data-validator" / "answers"
PLAN = REPO / "examples" / "data-validator" / "plans" / "packages" / "core" / "data-validator.md"
# The bundled example's fifteen phases, in order, as the user sees them named in `doit` output.
PHASES = [
    "PLANNING",
    "FOUNDATION",
    "TYPES",
    "CORE_IMPLEMENTATION",
    "ENTRY_POINT",
    "UTILITIES",
    "ERROR_HANDLING",
    "TESTING",
    "DOCUMENTATION",
    "EXAMPLES",
    "INTEGRATION_REVIEW",
    "CRITICAL_FIXES",
    "BUILD_VALIDATION",
    "FINAL_POLISH",
    "MERGE",
]
TEST_API_KEY = "sk-ant-test-key-not-a-real-secret"
TOOLS_BIN = REPO / "tests" / "tools" / "node_modules" / ".bin"  # pnpm and yarn, as a user would have them on PATH


def example_answer(phase: str) -> str:
    """The bundled example's hand-written answer for `phase` (e.g. "TESTING")."""
    matches = sorted(ANSWERS.glob(f"[0-9][0-9]-{phase.lower().replace('_', '-')}.txt"))
    assert matches, f"no example answer for {phase}"
    return matches[0].read_text(encoding="utf-8")


def answer_example(request) -> Text:
    return Text(example_answer(request.phase))


@pytest.fixture
def api():
    """A Messages API server that answers every phase with the bundled example's answer unless a test scripts it."""
    with MessagesAPIServer(default=answer_example) as server:
        yield server


@pytest.fixture(scope="session")
def npm_cache(tmp_path_factory) -> Path:
    """One npm cache for the whole session: each generated package installs the same toolchain."""
    override = os.environ.get("PACKAGE_BUILDER_TEST_NPM_CACHE")
    return Path(override) if override else tmp_path_factory.mktemp("npm-cache")


@dataclass
class Project:
    """A user's package-builder checkout (copied), its config and its workspace repo."""

    root: Path
    workspace: Path
    home: Path
    api: MessagesAPIServer
    npm_cache: Path

    @property
    def config_path(self) -> Path:
        return self.root / "configs" / "build-env.json"

    def write_config(self, **overrides) -> None:
        config = {"workspaceRoot": str(self.workspace), "model": {"provider": "anthropic", "maxRetries": 1}}
        for key, value in overrides.items():
            if isinstance(value, dict) and isinstance(config.get(key), dict):
                config[key] = {**config[key], **value}
            else:
                config[key] = value
        self.config_path.write_text(json.dumps(config, indent=2))

    def env(self, **extra) -> dict:
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("ANTHROPIC_", "GIT_", "PACKAGE_BUILDER_", "npm_config_"))
        }
        env.update(PATH=f"{TOOLS_BIN}{os.pathsep}{os.environ.get('PATH', '')}")
        env.update(
            HOME=str(self.home),
            GIT_CONFIG_NOSYSTEM="1",
            ANTHROPIC_API_KEY=TEST_API_KEY,
            ANTHROPIC_BASE_URL=self.api.base_url,
            PYTHONUNBUFFERED="1",
            PYTHONFAULTHANDLER="1",  # a crash of doit (a rare -11 seen under load) shows every thread's stack
            npm_config_cache=str(self.npm_cache),
        )
        env.update(extra)
        return {k: v for k, v in env.items() if v is not None}

    def doit(self, *args: str, check: bool = False, timeout: float = 300, **env) -> subprocess.CompletedProcess:
        result = subprocess.run(
            [sys.executable, "-m", "doit", *args],
            cwd=self.root,
            env=self.env(**env),
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"doit {' '.join(args)} exited {result.returncode}\n{result.stdout}\n{result.stderr}")
        return result

    def popen(self, *args: str, **env) -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, "-m", "doit", *args],
            cwd=self.root,
            env=self.env(**env),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )

    def git(self, *args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=self.workspace, env=self.env(), capture_output=True, text=True, check=True
        ).stdout

    def state(self) -> dict:
        files = sorted((self.workspace / ".generation-state").glob("gen-*.json"))
        assert len(files) == 1, files
        return json.loads(files[0].read_text())

    @property
    def package_dir(self) -> Path:
        return self.workspace / "packages" / "core" / "data-validator"


@pytest.fixture
def project(tmp_path, api, npm_cache) -> Project:
    """A fresh copy of the project with the example plan, and a workspace repo with one commit and no git identity."""
    root = tmp_path / "project"
    root.mkdir()
    shutil.copy(REPO / "dodo.py", root / "dodo.py")
    shutil.copytree(REPO / "phases", root / "phases", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(REPO / "prompts", root / "prompts")
    (root / "configs").mkdir()
    (root / "plans" / "packages" / "core").mkdir(parents=True)
    shutil.copy(PLAN, root / "plans" / "packages" / "core" / PLAN.name)
    home = tmp_path / "home"
    home.mkdir()
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    result = Project(root=root, workspace=workspace, home=home, api=api, npm_cache=npm_cache)
    result.git("init", "--quiet", "--initial-branch=main")
    (workspace / "README.md").write_text("# a monorepo\n")
    result.git("add", "README.md")
    result.git("-c", "user.name=Someone", "-c", "user.email=someone@example.test", "commit", "--quiet", "-m", "initial")
    result.write_config()
    return result


@pytest.fixture(scope="session")
def npm_registry(tmp_path_factory):
    """A real npm registry (Verdaccio) on 127.0.0.1 for the whole session."""
    from npm_registry import NpmRegistry

    registry = NpmRegistry(tmp_path_factory.mktemp("registry")).start()
    yield registry
    registry.stop()


@pytest.fixture
def remote_cache(tmp_path_factory):
    """A real Turborepo remote-cache server on 127.0.0.1."""
    from remote_cache import RemoteCacheServer

    server = RemoteCacheServer(tmp_path_factory.mktemp("remote-cache")).start()
    yield server
    server.stop()


@pytest.fixture
def monorepo(project, npm_registry, tmp_path):
    """The user's monorepo (a git repo, all committed), configured for two builds at once and the test registry."""
    from monorepo import write_monorepo

    scope = write_monorepo(project.workspace)
    project.git("add", "-A")
    project.git("-c", "user.name=Someone", "-c", "user.email=someone@example.test", "commit", "-qm", "monorepo")
    project.write_config(npmRegistry=npm_registry.url, maxConcurrentBuilds=2)
    project.scope = scope
    project.build_log = tmp_path / "build-log.txt"
    return project
