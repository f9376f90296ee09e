"""CORE_IMPLEMENTATION: Implements the package against the types, with input validation and JSDoc."""

from package_builder.generation.phase import PhaseSpec

from .checks import no_tests_in_src

PHASE = PhaseSpec(
    name="CORE_IMPLEMENTATION",
    kind="model",
    description="Implement the main functionality",
    max_tokens=8000,
    temperature=0.3,
    template="core-implementation.md.j2",
    reads=("PLANNING", "FOUNDATION", "TYPES"),
    write_allowlist=("src/**",),
    check=no_tests_in_src,
    type_checks=True,
)
