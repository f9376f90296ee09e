"""SINGLE_SHOT: the whole package in one model call, for small packages ("simple utility packages, fewer than 5
source files, quick prototypes"), then the same BUILD_VALIDATION and MERGE as turn-based generation. Chosen by
`turnBasedGeneration.enabled: false`, or per plan by front matter `mode: single-shot`. Code renders the same config
files FOUNDATION does; the answer is continued if it runs past its budget."""

from package_builder.generation.phase import PhaseSpec

from .checks import foundation
from .p02_foundation import PHASE as FOUNDATION

PHASE = PhaseSpec(
    name="SINGLE_SHOT",
    kind="model",
    description="Generate the whole package in one call",
    max_tokens=16000,
    temperature=0.2,
    template="single-shot.md.j2",
    write_allowlist=(
        "package.json",
        "eslint.config.mjs",
        "src/**",
        "tests/**",
        "README.md",
        "CHANGELOG.md",
        "docs/**",
        "examples/**",
    ),
    rendered_files=FOUNDATION.rendered_files,
    check=foundation,
)
