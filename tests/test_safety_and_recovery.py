"""A new user typing the tool's name starts nothing dangerous, and what goes wrong outside the tool (a git lock left
by a kill, a stranger's git lock, a corrupt artifact) is cleaned up or reported by path, never a traceback, and never
silently paid for again. Each story runs `doit` as a subprocess against a real git workspace and stops at PLANNING or
FOUNDATION, before any npm work."""
from __future__ import annotations

import json


def test_a_corrupt_artifact_is_moved_aside_and_reported_not_silently_paid_again(project):
    project.doit("generate:data-validator:02-foundation", check=True)
    folder = project.workspace / ".generation-state" / "data-validator"
    (folder / "01-planning.json").write_text('{"schema": 1, "phase": "PLAN')  # a torn write by another tool

    failed = project.doit("generate:data-validator:02-foundation")

    assert failed.returncode != 0
    assert f"{folder / '01-planning.json'}: is not valid JSON" in failed.stdout
    assert "moved aside to 01-planning.corrupt-" in failed.stdout
    assert len(list(folder.glob("01-planning.corrupt-*.json"))) == 1
    assert len(project.api.hits_for("PLANNING")) == 1, "reported, not re-paid behind the user's back"

    project.doit("generate:data-validator:02-foundation", check=True)
    assert len(project.api.hits_for("PLANNING")) == 2, "the next run asks again, as the message said"
    assert json.loads((folder / "01-planning.json").read_text())["status"] == "committed"
