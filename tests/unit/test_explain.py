"""Why a finished phase runs again, named from its stored inputs."""
from __future__ import annotations

from package_builder.explain import changed_inputs

BEFORE = {"plan": "p1", "templates": {"_system.md.j2": "s1", "testing.md.j2": "t1"}, "upstream": {"TYPES": "o1"},
          "model": "claude-a", "maxTokens": 4000, "temperature": None, "writeAllowlist": ["src/**"],
          "typeCheck": None, "renderedFiles": "r1", "promptDigest": "d1"}


def test_nothing_changed_means_no_reason():
    assert changed_inputs(BEFORE, dict(BEFORE)) == []


def test_each_input_is_named():
    now = {**BEFORE, "plan": "p2", "templates": {"_system.md.j2": "s1", "testing.md.j2": "t2", "new.md.j2": "n"},
           "upstream": {"TYPES": "o2"}, "model": "claude-b", "maxTokens": 8000, "typeCheck": {"ok": False}}
    assert changed_inputs(BEFORE, now) == [
        "the plan changed", "template prompts/new.md.j2 added", "template prompts/testing.md.j2 changed",
        "TYPES's output changed", "model claude-a → claude-b", "output budget 4000 → 8000",
        "the type-check result it is given changed"]


def test_only_the_keys_given_are_compared_and_the_prompt_is_the_last_resort():
    assert changed_inputs(BEFORE, {"plan": "p1", "model": "claude-a"}) == []
    assert changed_inputs(BEFORE, {**BEFORE, "promptDigest": "d2"}) == ["its rendered prompt changed"]
