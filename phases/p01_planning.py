"""PLANNING: Turns the user's plan into an architecture the later phases follow: modules, public API, error model,
test plan."""

from package_builder.generation.phase import PhaseSpec

PHASE = PhaseSpec(
    name="PLANNING",
    kind="model",
    description="Create the plan and architecture blueprint",
    max_tokens=5000,
    temperature=0.3,
    template="planning.md.j2",
    reads=(),
    write_allowlist=("docs/architecture.md",),
)
