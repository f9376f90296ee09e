"""Writing a phase's files inside the package directory, and nowhere else.

Every path is checked before the first byte is written: relative, inside the package, and never through a symlink
(an earlier answer, or the user, may have put one there). Each file is written to a temporary file and renamed over
its target, so a kill leaves either the old content or the new.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from package_builder.base.errors import ModelAnswerError, WorkspaceError


def apply_files(root: Path, package_path: str, files: dict[str, str], deletes: list[str]) -> None:
    """Write `files` and delete `deletes` (package-relative) under `root / package_path`: all paths or none."""
    package_dir = _package_dir(root, package_path)
    targets = {path: _inside(package_dir, path) for path in [*files, *deletes]}
    try:
        for path, content in files.items():
            target = targets[path]
            if target.is_file() and target.read_text(encoding="utf-8", errors="replace") == content:
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
            try:
                with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
                    handle.write(content)
                os.replace(tmp, target)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        for path in deletes:
            if targets[path].is_dir():
                raise ModelAnswerError(f"{path!r} is a directory: only files can be deleted")
            targets[path].unlink(missing_ok=True)
    except OSError as exc:  # disk full, permissions: the rerun finishes the apply once the cause is fixed
        raise WorkspaceError(f"cannot write in {package_dir}: {exc}") from None


def _package_dir(root: Path, package_path: str) -> Path:
    package_dir = _without_symlinks(root, package_path, f"package directory {package_path}")
    if not package_dir.resolve().is_relative_to(root.resolve()):
        raise ModelAnswerError(f"package directory {package_path} resolves outside the workspace")
    return package_dir


def _inside(package_dir: Path, path: str) -> Path:
    """The target file, refusing any path whose existing components include a symlink."""
    target = _without_symlinks(package_dir, path, f"{path!r}:")
    if not target.resolve().is_relative_to(package_dir.resolve()):
        raise ModelAnswerError(f"{path!r}: resolves outside the package directory")
    return target


def _without_symlinks(base: Path, relative: str, what: str) -> Path:
    """`base / relative`, refusing it when any existing component on the way is a symlink."""
    current = base
    for part in Path(relative).parts:
        current = current / part
        if current.is_symlink():
            raise ModelAnswerError(f"{what} goes through a symlink ({current.relative_to(base)}); refusing to write")
    return current
