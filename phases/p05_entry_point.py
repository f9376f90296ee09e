"""ENTRY_POINT: Writes the public surface: what `import ... from '<package>'` gives."""

from package_builder.generation.phase import PhaseSpec

from .checks import entry_point

PHASE = PhaseSpec(
    name="ENTRY_POINT",
    kind="model",
    description="Create the src/index.ts barrel",
    max_tokens=2000,
    temperature=0.2,
    template="entry-point.md.j2",
    reads=("TYPES", "CORE_IMPLEMENTATION"),
    write_allowlist=("src/index.ts",),
    check=entry_point,
    type_checks=True,
)
