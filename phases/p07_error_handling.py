"""ERROR_HANDLING: Adds typed errors with codes and `cause` chaining, and updates the code that throws them."""

from package_builder.generation.phase import PhaseSpec

from .checks import no_tests_in_src

PHASE = PhaseSpec(
    name="ERROR_HANDLING",
    kind="model",
    description="Create error classes and wire them in",
    max_tokens=3000,
    temperature=0.3,
    template="error-handling.md.j2",
    reads=(
        "PLANNING",
        "TYPES",
        "CORE_IMPLEMENTATION",
        "ENTRY_POINT",
        "UTILITIES",
    ),
    write_allowlist=("src/**",),
    check=no_tests_in_src,
    type_checks=True,
)
