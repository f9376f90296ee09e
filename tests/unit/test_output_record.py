"""The record of a step's outputs that doit's `uptodate` checks on every run: a deleted or edited output makes the
step run, and the check costs a stat per file, not a read, unless git's own "racily clean" rule says otherwise."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from package_builder.builds.output_record import output_changes, outputs_intact, record_outputs


def built(tmp_path: Path, files: dict[str, str]) -> tuple[Path, str]:
    """A package whose build wrote `files`, and the record of them (made a second later than the files, as a
    record written by a step that ran is, on any file system's clock)."""
    package = tmp_path / "package"
    for name, text in files.items():
        (package / name).parent.mkdir(parents=True, exist_ok=True)
        (package / name).write_text(text)
    record = tmp_path / "outputs.json"
    digests = {name: ("sha256:" + hashlib.sha256(text.encode()).hexdigest(), None) for name, text in files.items()}
    record_outputs(record, package, digests)
    later = max((package / name).stat().st_mtime_ns for name in files) + 1_000_000_000
    os.utime(record, ns=(later, later))
    return package, str(record)


def test_outputs_as_the_step_left_them_are_intact(tmp_path):
    package, record = built(tmp_path, {"dist/index.js": "one", "dist/a.js": "a"})

    assert outputs_intact(record, str(package))
    assert output_changes(record, str(package)) == []


def test_a_deleted_output_and_an_edited_one_are_named(tmp_path):
    package, record = built(tmp_path, {"dist/index.js": "one", "dist/a.js": "a"})
    (package / "dist/index.js").unlink()
    (package / "dist/a.js").write_text("corrupted")

    assert not outputs_intact(record, str(package))
    assert output_changes(record, str(package)) == [("dist/a.js", "changed"), ("dist/index.js", "missing")]


def test_no_record_means_the_step_runs(tmp_path):
    assert not outputs_intact(str(tmp_path / "never-written.json"), str(tmp_path))


def test_an_unchanged_stat_is_trusted_without_reading_the_file(tmp_path):
    """The cost rule: a no-op run stats the outputs and reads none. Shown with a record whose digest is wrong: a
    check that read the file would see it."""
    package, record = built(tmp_path, {"dist/index.js": "one"})
    data = json.loads(Path(record).read_text())
    data["files"]["dist/index.js"][-1] = "sha256:" + "0" * 64
    mtime = Path(record).stat().st_mtime_ns
    Path(record).write_text(json.dumps(data))
    os.utime(record, ns=(mtime, mtime))

    assert outputs_intact(record, str(package))


def test_a_touched_output_is_read_once_then_trusted_by_its_new_stat(tmp_path):
    package, record = built(tmp_path, {"dist/index.js": "one"})
    stamp = (package / "dist/index.js").stat().st_mtime_ns + 5_000_000_000
    os.utime(package / "dist/index.js", ns=(stamp, stamp))

    assert outputs_intact(record, str(package)), "same content: still intact"
    entry = json.loads(Path(record).read_text())["files"]["dist/index.js"]
    assert entry[1] == stamp, "its new stat is recorded, so the next run reads nothing"


def test_an_edit_within_the_clocks_granularity_after_the_record_is_still_seen(tmp_path):
    """Git's racy-clean rule: a file whose mtime is not older than the record may have been edited in the same
    clock tick without its stat showing it, so it is compared by content. Here the record holds the digest of what
    the file was before such an edit, with the stat it has now."""
    package, record = built(tmp_path, {"dist/index.js": "one"})
    data = json.loads(Path(record).read_text())
    data["files"]["dist/index.js"][-1] = "sha256:" + hashlib.sha256(b"two").hexdigest()  # before the edit
    Path(record).write_text(json.dumps(data))
    same_tick = (package / "dist/index.js").stat().st_mtime_ns
    os.utime(record, ns=(same_tick, same_tick))

    assert not outputs_intact(record, str(package))
    assert output_changes(record, str(package)) == [("dist/index.js", "changed")]


def test_a_record_this_version_did_not_write_means_the_step_runs(tmp_path):
    """A damaged or foreign record is no record: the step runs and writes its own, never a crash of the check."""
    package, record = built(tmp_path, {"dist/index.js": "one"})
    for damaged in ({"files": {"dist/index.js": [3, "sha256:abc"]}}, {"files": {"dist/index.js": None}}, {"files": []}):
        Path(record).write_text(json.dumps(damaged))

        assert output_changes(record, str(package)) is None
        assert not outputs_intact(record, str(package))


def test_a_large_record_is_read_whole(tmp_path):
    """A build of hundreds of files: its record, past 64 KB, is read to its end, not to a buffer's size."""
    files = {f"dist/chunk-{number:04d}.js": str(number) for number in range(700)}
    package, record = built(tmp_path, files)
    assert Path(record).stat().st_size > 1 << 16

    (package / "dist/chunk-0699.js").unlink()  # the last one the record names

    assert output_changes(record, str(package)) == [("dist/chunk-0699.js", "missing")]
