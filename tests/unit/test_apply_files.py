"""Hostile answers at the apply level, without npm or doit: a phase's files land inside the package or nowhere, all
of them or none, and never through a symlink that points elsewhere."""

from __future__ import annotations

import pytest

from package_builder.base.errors import ModelAnswerError, WorkspaceError
from package_builder.generation.writer.files import apply_files

PACKAGE = "packages/core/thing"


@pytest.fixture
def root(tmp_path):
    (tmp_path / "workspace" / PACKAGE).mkdir(parents=True)
    return tmp_path / "workspace"


def test_files_are_written_inside_the_package_and_deletes_remove_them(root):
    apply_files(root, PACKAGE, {"src/a.ts": "a\n", "docs/b.md": "b\n"}, [])
    apply_files(root, PACKAGE, {}, ["docs/b.md"])
    assert (root / PACKAGE / "src/a.ts").read_text() == "a\n"
    assert not (root / PACKAGE / "docs/b.md").exists()


def test_a_symlinked_folder_pointing_outside_is_refused_and_nothing_is_written(root, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (root / PACKAGE / "docs").symlink_to(outside)
    with pytest.raises(ModelAnswerError, match=r"'docs/x.md': goes through a symlink \(docs\)"):
        apply_files(root, PACKAGE, {"src/first.ts": "ok\n", "docs/x.md": "pwned\n"}, [])
    assert list(outside.iterdir()) == []
    assert not (root / PACKAGE / "src/first.ts").exists(), "all or nothing: the good file is not written either"


def test_a_symlinked_file_is_never_written_through(root, tmp_path):
    target = tmp_path / "secret.txt"
    target.write_text("keep\n")
    (root / PACKAGE / "README.md").symlink_to(target)
    with pytest.raises(ModelAnswerError, match="symlink"):
        apply_files(root, PACKAGE, {"README.md": "pwned\n"}, [])
    assert target.read_text() == "keep\n"


def test_a_delete_through_a_symlink_is_refused(root, tmp_path):
    target = tmp_path / "keep.txt"
    target.write_text("keep\n")
    (root / PACKAGE / "old.ts").symlink_to(target)
    with pytest.raises(ModelAnswerError, match="symlink"):
        apply_files(root, PACKAGE, {}, ["old.ts"])
    assert target.exists() and (root / PACKAGE / "old.ts").is_symlink()


def test_a_package_directory_reached_through_a_symlink_is_refused(tmp_path):
    root = tmp_path / "workspace"
    (root / "packages").mkdir(parents=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (root / "packages" / "core").symlink_to(elsewhere)
    with pytest.raises(ModelAnswerError, match="package directory packages/core/thing goes through a symlink"):
        apply_files(root, PACKAGE, {"src/a.ts": "a\n"}, [])
    assert list(elsewhere.iterdir()) == []


def test_a_path_that_resolves_outside_is_refused_even_without_a_symlink(root, tmp_path):
    with pytest.raises(ModelAnswerError, match="resolves outside the package directory"):
        apply_files(root, PACKAGE, {"../../../escaped.txt": "pwned\n"}, [])
    assert not (tmp_path / "escaped.txt").exists()


def test_deleting_a_directory_is_refused(root):
    (root / PACKAGE / "src").mkdir()
    with pytest.raises(ModelAnswerError, match="'src' is a directory"):
        apply_files(root, PACKAGE, {}, ["src"])


def test_a_disk_error_is_a_workspace_error_that_names_the_folder(root):
    (root / PACKAGE / "src").write_text("a file where a folder should be\n")
    with pytest.raises(WorkspaceError, match=f"cannot write in {root / PACKAGE}"):
        apply_files(root, PACKAGE, {"src/a.ts": "a\n"}, [])
