"""The user's story of adding a phase: a sixteenth declaration in phases/, after a finished generation, costs only the
new phase. What a phase sends the model names its number but not how many phases there are, so every finished
phase's request, and so its stored answer, stays valid even where the runner, not doit's database, decides (doit's
database lost to a kill -9, `doit run -a`, another engine); the printed lines still show the count."""

from __future__ import annotations

import re

import pytest

from messages_api import Text

pytestmark = pytest.mark.slow  # a whole generation with the real npm toolchain

NEW_PHASE = '''"""SECURITY_REVIEW: reads the finished package and writes what an attacker could do with it."""
from package_builder.generation.phase import EVERY_EARLIER_PHASE, PhaseSpec

PHASE = PhaseSpec(
    name="SECURITY_REVIEW",
    kind="model",
    description="Review the package for security problems",
    max_tokens=3000,
    temperature=0.2,
    template="security-review.md.j2",
    reads=EVERY_EARLIER_PHASE,
    write_allowlist=("docs/SECURITY.md",),
)
'''
ANSWER = (
    '<file path="docs/SECURITY.md">\n# Security review\n\nNo input reaches `eval` or the file system.\n'
    "</file>\n<summary>Reviewed the package for security problems: none found.</summary>\n"
)


def add_security_review(project) -> None:
    """What a user does to add a phase: one module in phases/, its prompt, and one entry in the list."""
    (project.root / "phases" / "p16_security_review.py").write_text(NEW_PHASE)
    (project.root / "prompts" / "security-review.md.j2").write_text(
        "## Your task: {{ phase.name }}\nReview the package above for security problems and write `docs/SECURITY.md`.\n"
    )
    registry = project.root / "phases" / "__init__.py"
    text = registry.read_text()
    for old, new in (
        ("    single_shot,\n)", "    single_shot,\n    p16_security_review,\n)"),
        ("            p15_merge,\n        )", "            p15_merge,\n            p16_security_review,\n        )"),
    ):
        assert old in text, f"phases/__init__.py no longer has {old!r}: update this test's edit"
        text = text.replace(old, new)
    registry.write_text(text)


def test_a_phase_added_after_a_finished_generation_calls_the_model_only_for_itself(project):
    first = project.doit("generate:data-validator", check=True)
    assert "phase 03/15 TYPES" in first.stdout and "15/15 phases done" in first.stdout
    assert re.search(r"@example/data-validator +15/15 phases done", project.doit(check=True).stdout)
    finished = len(project.api.hits)
    assert finished > 0
    assert "[phase 03 TYPES]" in project.api.hits_for("TYPES")[0].user_text
    assert not any(re.search(r"\[phase \d\d/", hit.user_text + hit.system) for hit in project.api.hits), (
        "a request names the phase count: adding a phase would change every phase's digest"
    )

    add_security_review(project)
    project.api.script("SECURITY_REVIEW", Text(ANSWER))
    again = project.doit("generate:data-validator", check=True)

    assert [hit.phase for hit in project.api.hits[finished:]] == ["SECURITY_REVIEW"], again.stdout
    assert "phase 16/16 SECURITY_REVIEW" in again.stdout and "16/16 phases done" in again.stdout
    assert (project.package_dir / "docs" / "SECURITY.md").read_text().startswith("# Security review")
    assert re.search(r"@example/data-validator +16/16 phases done", project.doit(check=True).stdout)

    # every phase's action runs: the runner compares each request's digest with its stored answer's
    everything = project.doit("run", "-a", "generate:data-validator", check=True)
    assert len(project.api.hits) == finished + 1, [hit.phase for hit in project.api.hits[finished + 1 :]]
    assert "phase 03/16 TYPES  reused: inputs unchanged, no model call" in everything.stdout
