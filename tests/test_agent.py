"""The agent interface other orchestrators use: exact instructions only, npm names only, workspace packages only,
and never a shell."""

from __future__ import annotations

import pytest

from monorepo import build_log, write_monorepo
from package_builder.builds.agent import InstructionError, ProductionPackageBuilderAgent

pytestmark = pytest.mark.slow  # real npm toolchain, full generations


@pytest.fixture
def agent(project, monkeypatch, tmp_path):
    project.scope = write_monorepo(project.workspace)
    project.write_config(maxConcurrentBuilds=2)
    monkeypatch.setenv("BUILD_LOG", str(tmp_path / "build-log.txt"))
    monkeypatch.setenv("npm_config_cache", str(project.npm_cache))
    return ProductionPackageBuilderAgent(config_path=project.config_path, project_root=project.root)


def test_the_agent_declares_its_capabilities(agent):
    assert agent.name and set(agent.capabilities) == {"build-package", "test-package", "publish-package"}


def test_build_package_builds_it_after_its_workspace_dependencies(agent, project, tmp_path):
    report = agent.execute(f"build-package: {project.scope}/math")

    started = [name for event, name, _ in build_log(tmp_path / "build-log.txt") if event == "start"]
    assert started == [f"{project.scope}/core", f"{project.scope}/math"]
    assert f"{project.scope}/math" in report and "built" in report


def test_test_package_runs_the_packages_tests(agent, project):
    report = agent.execute(f"test-package: {project.scope}/core")

    assert "tested" in report


@pytest.mark.parametrize(
    "instruction, problem",
    [
        ("build-package: x; rm -rf ~", "not an instruction this agent runs"),
        ("build-package: ../../etc", "is not a valid npm package name"),
        ("build-package: $(id)", "is not a valid npm package name"),
        ("build-package: `id`", "is not a valid npm package name"),
        ("deploy-package: left-pad", "not an instruction this agent runs"),
        ("build-package: @someone-else/not-here", "is not a package of the workspace"),
    ],
)
def test_anything_else_is_refused_before_anything_runs(agent, tmp_path, instruction, problem):
    with pytest.raises(InstructionError, match=problem):
        agent.execute(instruction)

    assert build_log(tmp_path / "build-log.txt") == []
