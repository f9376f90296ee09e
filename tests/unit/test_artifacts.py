"""Fast: phase artifacts, the unit of resume (package_builder/generation/artifacts.py), and the digests they rest on
(digest.py).

A user relies on: the package's files after phase N are exactly what the phases wrote in order; an artifact saved to
disk and read back is the same artifact; and a phase that produced the same files counts as unchanged downstream even
when it took a different time or token count.
"""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from package_builder.base.digest import digest_bytes, digest_of, digest_text
from package_builder.generation.artifacts import COMMITTED, SCHEMA, ArtifactStore, ModelCall, PhaseArtifact, fold_files


def artifact(number: int, files: dict | None = None, deletes: list | None = None, **extra) -> PhaseArtifact:
    return PhaseArtifact(
        phase=f"PHASE_{number}",
        number=number,
        task_name="thing",
        package_name="@acme/thing",
        inputs_digest=f"sha256:{number:064x}",
        inputs={"prompt": f"p{number}"},
        status=COMMITTED,
        files=files or {},
        deletes=deletes or [],
        **extra,
    )


def full_artifact() -> PhaseArtifact:
    return artifact(
        8,
        {"tests/A Test.test.ts": "it('works', () => {});\n", "src/MixedCase_file.ts": "x\n"},
        ["tests/old_one.ts"],
        summary="Wrote tests.",
        raw_answer='<file path="tests/a.ts">\n…\n</file>\n',
        calls=[
            ModelCall(
                attempt=1,
                request_digest="sha256:aa",
                stop_reason="end_turn",
                input_tokens=1200,
                output_tokens=3400,
                seconds=12.5,
            ),
            ModelCall(
                attempt=2,
                request_digest="sha256:bb",
                stop_reason="max_tokens",
                input_tokens=10,
                output_tokens=20,
                seconds=0.5,
                problem="never closed",
            ),
        ],
        model_seconds=13.0,
        started_at="2025-01-01T00:00:00Z",
        commit="abc123",
        validation={"green": True, "attempts": [{"failure_kind": "type"}]},
        type_check={"ran": True, "exitCode": 2, "errors": 1, "command": ["tsc", "--noEmit"]},
    )


# --- fold_files ------------------------------------------------------------------------------------------------------


def test_a_later_phase_overwrites_an_earlier_phases_file():
    view = fold_files([artifact(4, {"src/a.ts": "v4\n", "src/b.ts": "b\n"}), artifact(7, {"src/a.ts": "v7\n"})])
    assert view == {"src/a.ts": "v7\n", "src/b.ts": "b\n"}


def test_a_delete_removes_a_file_an_earlier_phase_wrote():
    view = fold_files([artifact(4, {"src/a.ts": "a\n", "src/b.ts": "b\n"}), artifact(12, deletes=["src/b.ts"])])
    assert view == {"src/a.ts": "a\n"}


def test_deleting_a_file_nobody_wrote_is_harmless():
    assert fold_files([artifact(4, {"src/a.ts": "a\n"}), artifact(5, deletes=["src/never.ts"])]) == {"src/a.ts": "a\n"}


def test_phases_fold_in_number_order_whatever_order_the_list_is_in():
    early, late = artifact(4, {"src/a.ts": "early\n"}), artifact(12, {"src/a.ts": "late\n"})
    assert fold_files([late, early]) == {"src/a.ts": "late\n"}
    deleted_later = [artifact(12, deletes=["src/a.ts"]), artifact(4, {"src/a.ts": "x\n"})]
    assert fold_files(deleted_later) == {}


def test_a_phase_can_delete_and_rewrite_the_same_file_and_the_rewrite_stays():
    view = fold_files([artifact(4, {"src/a.ts": "old\n"}), artifact(12, {"src/a.ts": "new\n"}, ["src/a.ts"])])
    assert view == {"src/a.ts": "new\n"}


def test_the_folded_view_is_sorted_by_path():
    view = fold_files([artifact(4, {"src/z.ts": "", "README.md": "", "src/a.ts": ""})])
    assert list(view) == ["README.md", "src/a.ts", "src/z.ts"]


def test_folding_nothing_gives_no_files():
    assert fold_files([]) == {}


def test_folding_does_not_change_the_artifacts():
    first = artifact(4, {"src/a.ts": "a\n"})
    fold_files([first, artifact(5, {"src/a.ts": "b\n"}, ["src/a.ts"])])
    assert first.files == {"src/a.ts": "a\n"}


# --- to_json / from_json ---------------------------------------------------------------------------------------------


def test_an_artifact_survives_a_trip_through_json_on_disk():
    original = full_artifact()
    assert PhaseArtifact.from_json(json.loads(json.dumps(original.to_json()))) == original


def test_the_json_uses_camel_case_keys_but_keeps_file_paths_and_inputs_verbatim():
    data = full_artifact().to_json()
    assert {
        "taskName",
        "packageName",
        "inputsDigest",
        "rawAnswer",
        "modelSeconds",
        "startedAt",
        "typeCheck",
        "outputDigest",
        "usage",
    } <= set(data)
    assert "task_name" not in data
    assert set(data["files"]) == {"tests/A Test.test.ts", "src/MixedCase_file.ts"}  # never camel-cased
    assert data["validation"] == {"green": True, "attempts": [{"failure_kind": "type"}]}
    assert data["calls"][0]["requestDigest"] == "sha256:aa" and data["calls"][0]["stopReason"] == "end_turn"


def test_the_json_records_usage_and_the_output_digest():
    original = full_artifact()
    data = original.to_json()
    assert data["usage"] == {
        "inputTokens": 1210,
        "outputTokens": 3420,
        "cacheWriteTokens": 0,
        "cacheReadTokens": 0,
        "costUsd": 0.0,
    }
    assert data["outputDigest"] == original.output_digest
    assert data["schema"] == SCHEMA


def test_a_minimal_artifact_round_trips_with_its_defaults():
    original = artifact(1)
    restored = PhaseArtifact.from_json(original.to_json())
    assert restored == original and restored.type_check is None and restored.calls == []


def test_the_store_saves_and_loads_the_same_artifact(tmp_path):
    store = ArtifactStore(tmp_path, "thing")
    original = full_artifact()
    store.save("08-testing", original)
    assert store.path("08-testing").is_file()
    assert store.load("08-testing") == original


def test_the_store_has_nothing_for_a_phase_that_never_ran(tmp_path):
    assert ArtifactStore(tmp_path, "thing").load("03-types") is None


# --- output_digest ---------------------------------------------------------------------------------------------------


def test_the_output_digest_ignores_timing_usage_commit_and_the_raw_answer():
    original = full_artifact()
    rerun = replace(
        original,
        calls=[ModelCall(1, "sha256:cc", "end_turn", 1, 2, 99.0)],
        model_seconds=99.0,
        started_at="2030-01-01T00:00:00Z",
        commit="def456",
        raw_answer="different prose",
        summary="different summary",
        inputs_digest="sha256:other",
        validation={},
        type_check=None,
    )
    assert rerun.output_digest == original.output_digest


def test_the_output_digest_ignores_the_order_of_deletes():
    assert artifact(4, deletes=["a", "b"]).output_digest == artifact(4, deletes=["b", "a"]).output_digest


@pytest.mark.parametrize(
    "change",
    [
        {"files": {"src/a.ts": "changed\n"}},
        {"files": {"src/a.ts": "a\n", "src/b.ts": ""}},
        {"deletes": ["src/old.ts"]},
    ],
)
def test_the_output_digest_changes_when_the_written_content_does(change):
    base = artifact(4, {"src/a.ts": "a\n"})
    assert replace(base, **change).output_digest != base.output_digest


# --- digest.py -------------------------------------------------------------------------------------------------------


def test_digest_of_is_stable_under_key_order_at_every_level():
    a = {"b": 1, "a": {"y": [1, {"q": 1, "p": 2}], "x": None}}
    b = {"a": {"x": None, "y": [1, {"p": 2, "q": 1}]}, "b": 1}
    assert digest_of(a) == digest_of(b)


def test_digest_of_tells_list_order_and_values_apart():
    assert digest_of([1, 2]) != digest_of([2, 1])
    assert digest_of({"a": 1}) != digest_of({"a": "1"})
    assert digest_of({"a": None}) != digest_of({})


def test_digests_are_prefixed_sha256_hex_and_known_values():
    assert digest_of({}) == "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
    assert (
        digest_text("")
        == digest_bytes(b"")
        == ("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    )


def test_digest_of_non_ascii_text_matches_its_utf8_encoding():
    assert digest_of("héllo ✓") == digest_bytes('"héllo ✓"'.encode())
