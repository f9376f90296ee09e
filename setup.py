"""Which packages an install holds (everything else is in pyproject.toml): `package_builder` with every subpackage it
has, and the checkout's top-level `phases/` and `prompts/` as `package_builder.phases` and `package_builder.prompts`
(pyproject.toml's `package-dir`). Found by walking the folders, never listed by hand, so a new subpackage is packed
with no edit here. pyproject.toml alone cannot say this: its `find` does not look through `package-dir` mappings."""

from setuptools import find_packages, setup

MAPPED = {"package_builder.phases": "phases", "package_builder.prompts": "prompts"}

setup(
    packages=[
        *find_packages(include=["package_builder", "package_builder.*"]),
        *(
            f"{name}.{sub}" if sub else name
            for name, folder in MAPPED.items()
            for sub in ["", *find_packages(where=folder)]
        ),
    ]
)
