"""The workspace's repository as the git writer opens it: a folder it cannot write a package into is refused with a
`WorkspaceError` that says what to do, never a library traceback. Real git; no npm."""

from __future__ import annotations

import subprocess

import pytest

from package_builder.base.errors import WorkspaceError
from package_builder.generation.writer.git import GitRepo


def test_a_bare_repository_as_workspace_root_is_refused_saying_to_use_a_clone(tmp_path):
    bare = tmp_path / "monorepo.git"
    subprocess.run(["git", "init", "--quiet", "--bare", str(bare)], check=True)
    with pytest.raises(WorkspaceError, match="is a bare git repository: point workspaceRoot at a clone"):
        GitRepo(bare, bare / "git-step.json", "package-builder", "pb@example.com")
