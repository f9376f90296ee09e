"""Where the plans are: the `<category>/<name>.md` files of a plans folder, found without parsing one.

Apart from `plan.py` so that every load (`doit build` included) can list the plans without compiling the plan
parser's patterns: a run that builds, tests or publishes pays nothing for generation.
"""

from __future__ import annotations

from pathlib import Path

from package_builder.base.errors import PlanError


def discover_plans(plans_root: Path) -> list[Path]:
    """Every `<category>/<name>.md` under `plans_root`, sorted; two plans with one name are an error."""
    paths = sorted(plans_root.glob("*/*.md")) if plans_root.is_dir() else []
    seen: dict[str, Path] = {}
    for path in paths:
        if path.stem in seen:
            raise PlanError(f"{path}: another plan has the same name ({seen[path.stem]}); task names must be unique")
        seen[path.stem] = path
    return paths
