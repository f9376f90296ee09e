"""The output protocol: a model answer is file blocks, parsed strictly and checked before anything is written.

    <file path="src/index.ts">
    ...full content...
    </file>
    <delete path="src/old.ts"/>
    <summary>What this phase did.</summary>

Tags stand alone on their lines. Prose outside blocks is ignored (kept in the raw answer), but a stray or unterminated
tag, a duplicate path, or a path that is not a clean relative path inside the package is an error: the whole answer
is refused, so nothing of it reaches the workspace. A safe path the phase does not write (another phase's file, one
package-builder renders) is dropped with a note; an answer left with nothing to write is refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePosixPath

from package_builder.base.errors import ModelAnswerError
from package_builder.generation.phase import PhaseSpec

_OPEN = re.compile(r'^<file\s+path="([^"]*)"\s*>\s*$')
_CLOSE = "</file>"
_DELETE = re.compile(r'^<delete\s+path="([^"]*)"\s*/>\s*$')
_BLOCK_TAG = re.compile(r"^\s*<(file|delete)\b")  # a summary never spans one of these
_TAG_LIKE = re.compile(r"^\s*</?(file|delete|summary)\b")
_FORBIDDEN_SEGMENTS = {".git", ".generation-state", "node_modules"}


@dataclass(frozen=True)
class ModelAnswer:
    """A parsed, validated answer: full file contents by package-relative path, deletions, and a summary."""

    files: dict[str, str]
    deletes: tuple[str, ...] = ()
    summary: str = ""
    dropped: tuple[str, ...] = ()  # blocks for safe paths this phase does not write, with the reason


def parse_answer(text: str, phase: PhaseSpec) -> ModelAnswer:
    """Parse and validate; raise `ModelAnswerError` listing every problem found."""
    files: dict[str, str] = {}
    deletes: list[str] = []
    summary = ""
    problems: list[str] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        opened = _OPEN.match(line)
        deleted = _DELETE.match(line)
        if opened:
            path = opened.group(1)
            start = i + 1
            j = start
            while j < len(lines) and lines[j].rstrip() != _CLOSE:
                j += 1
            if j == len(lines):
                problems.append(f'line {i + 1}: <file path="{path}"> is never closed with </file> on its own line')
                break
            content = "\n".join(lines[start:j])
            _add(path, content + "\n" if content else "", files, deletes, problems, i + 1)
            i = j + 1
            continue
        if deleted:
            _add(deleted.group(1), None, files, deletes, problems, i + 1)
        elif line.startswith("<summary>"):
            if summary:
                problems.append(f"line {i + 1}: a second <summary>")
            if "</summary>" in line:  # one line; prose after the closing tag is ignored like any prose
                summary = line[len("<summary>") :].split("</summary>", 1)[0].strip() or summary
            else:
                summary_opened = i + 1
                summary_lines = [line[len("<summary>") :]]
                i += 1
                while i < len(lines) and "</summary>" not in lines[i] and not _BLOCK_TAG.match(lines[i]):
                    summary_lines.append(lines[i])
                    i += 1
                if i == len(lines) or _BLOCK_TAG.match(lines[i]):
                    problems.append(
                        f"line {summary_opened}: <summary> is never closed with </summary>"
                        + (f" before the tag on line {i + 1}" if i < len(lines) else "")
                    )
                    break
                summary_lines.append(lines[i].split("</summary>", 1)[0])
                summary = "\n".join(summary_lines).strip()
        elif _TAG_LIKE.match(line):
            problems.append(
                f'line {i + 1}: malformed tag {line.strip()[:80]!r}: use <file path="..."> … </file> '
                "with each tag alone on its line"
            )
        i += 1

    had_blocks = bool(files or deletes)
    for path in list(files) + deletes:
        problems.extend(unsafe_path_problems(path))
    dropped = [] if problems else _drop_what_the_phase_does_not_write(phase, files, deletes)
    if not files and not deletes and not problems:
        problems.append(
            "the answer has no file this phase may write" + (f" ({'; '.join(dropped)})" if dropped else "")
            if had_blocks
            else 'the answer has no <file path="..."> block; this phase must write files'
        )
    if problems:
        raise ModelAnswerError("; ".join(problems))
    return ModelAnswer(files=files, deletes=tuple(deletes), summary=summary, dropped=tuple(dropped))


def _drop_what_the_phase_does_not_write(phase: PhaseSpec, files: dict, deletes: list) -> list[str]:
    """Salvage: a block for a safe path inside the package that this phase does not write (another phase's file, or
    one package-builder renders itself) is dropped with a note instead of costing a new answer."""
    dropped = []
    for path in [*files, *deletes]:
        if phase.may_write(path):
            continue
        why = (
            "package-builder renders it itself"
            if path in phase.rendered_files
            else f"{phase.name} may only write {', '.join(phase.write_allowlist)}"
        )
        dropped.append(f"{path!r}: {why}")
        files.pop(path, None)
        if path in deletes:
            deletes.remove(path)
    return dropped


def _add(path: str, content: str | None, files: dict, deletes: list, problems: list, line_number: int) -> None:
    if path in files or path in deletes:
        problems.append(f"line {line_number}: {path!r} appears in more than one block")
    elif content is None:
        deletes.append(path)
    else:
        files[path] = content


def path_problems(path: str, phase: PhaseSpec) -> list[str]:
    """Why `path` may not be written by `phase` (empty when it may). Symlinks are checked when applying."""
    unsafe = unsafe_path_problems(path)
    if unsafe:
        return unsafe
    if not phase.may_write(path):
        return [f"{path!r}: {phase.name} may only write {', '.join(phase.write_allowlist)}"]
    return []


def unsafe_path_problems(path: str) -> list[str]:
    """Why `path` is not a safe path inside the package (empty when it is): an answer with one is refused whole."""
    if not path or "\x00" in path or "\\" in path:
        return [f"{path!r}: not a usable path"]
    pure = PurePosixPath(path)
    if pure.is_absolute() or path.startswith("~"):
        return [f"{path!r}: absolute paths are not allowed; give a path relative to the package directory"]
    if str(pure) != path or any(part in ("..", ".") for part in path.split("/")):
        return [f"{path!r}: must be a normalised relative path inside the package (no '..', '.', '//' or trailing '/')"]
    if _FORBIDDEN_SEGMENTS & set(pure.parts):
        return [f"{path!r}: may not write inside {', '.join(sorted(_FORBIDDEN_SEGMENTS & set(pure.parts)))}"]
    return []
