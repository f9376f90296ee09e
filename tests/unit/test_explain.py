"""Why a finished phase or workspace step runs again, named from the inputs it stored."""

from __future__ import annotations

from package_builder.generation.explain import changed_inputs

BEFORE = {
    "plan": "p1",
    "templates": {"_system.md.j2": "s1", "testing.md.j2": "t1"},
    "upstream": {"TYPES": "o1"},
    "model": "claude-a",
    "maxTokens": 4000,
    "temperature": None,
    "writeAllowlist": ["src/**"],
    "typeCheck": None,
    "renderedFiles": "r1",
    "promptDigest": "d1",
}


def test_nothing_changed_means_no_reason():
    assert changed_inputs(BEFORE, dict(BEFORE)) == []


def test_each_input_is_named():
    now = {
        **BEFORE,
        "plan": "p2",
        "templates": {"_system.md.j2": "s1", "testing.md.j2": "t2", "new.md.j2": "n"},
        "upstream": {"TYPES": "o2"},
        "model": "claude-b",
        "maxTokens": 8000,
        "typeCheck": {"ok": False},
    }
    assert changed_inputs(BEFORE, now) == [
        "the plan changed",
        "template prompts/new.md.j2 added",
        "template prompts/testing.md.j2 changed",
        "TYPES's output changed",
        "model claude-a → claude-b",
        "output budget 4000 → 8000",
        "the type-check result it is given changed",
    ]


def test_only_the_keys_given_are_compared_and_the_prompt_is_the_last_resort():
    assert changed_inputs(BEFORE, {"plan": "p1", "model": "claude-a"}) == []
    assert changed_inputs(BEFORE, {**BEFORE, "promptDigest": "d2"}) == ["its rendered prompt changed"]


def test_a_workspace_step_names_its_changed_files_dependencies_and_settings():
    from package_builder.builds.step_inputs import why_again

    before = {
        "package": "@s/math",
        "files": {"src/a.js": "1", "src/gone.js": "2"},
        "root": {"package.json": "r"},
        "dependencies": {"build:@s/core": "c1", "generate:@s/math": "g1"},
        "scripts": {"build": "tsc"},
        "declaration": None,
        "outputs": ["dist/**"],
        "env": {},
    }
    now = {
        **before,
        "files": {"src/a.js": "1b", "src/new.js": "3"},
        "root": {"package.json": "r2"},
        "dependencies": {"build:@s/core": "c2", "generate:@s/math": "g2"},
        "scripts": {"build": "tsc -b"},
    }
    assert why_again(None, now) == "first run"
    assert why_again(before, dict(before)) == "its inputs are unchanged (doit's own record was out of date)"
    assert why_again(before, now).split(", ") == [
        "src/a.js changed",
        "src/gone.js removed",
        "src/new.js added",
        "root file package.json changed",
        "@s/core's build output changed",
        "its own generate changed",
        "its script changed",
    ]
    many = {**before, "files": {f"src/{n}.js": "x" for n in "abcde"}}
    assert why_again(before, many).startswith("src/a.js changed, src/b.js added, src/c.js added, and 3 more")
