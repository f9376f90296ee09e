"""FOUNDATION: Sets up the package. Code renders the config files that never vary (strict tsconfig, vitest config with
the category's coverage threshold, .gitignore) from `prompts/files/`; the model writes package.json (and
eslint.config.mjs when the plan asks for linting)."""

from package_builder.generation.phase import PhaseSpec

from .checks import foundation

PHASE = PhaseSpec(
    name="FOUNDATION",
    kind="model",
    description="Generate package.json; render tsconfig, test config and .gitignore",
    max_tokens=3000,
    temperature=0.2,
    template="foundation.md.j2",
    reads=("PLANNING",),
    write_allowlist=("package.json", "eslint.config.mjs"),  # a lint setup only when the plan asks for one
    rendered_files={
        "tsconfig.json": "files/tsconfig.json.j2",
        "tsconfig.build.json": "files/tsconfig.build.json.j2",
        "vitest.config.ts": "files/vitest.config.ts.j2",
        ".gitignore": "files/gitignore.j2",
    },
    check=foundation,
)
