"""Jinja2 prompt templates in `prompts/`: rendering (StrictUndefined) and the list of files a template reads.

`template_sources` is stdlib only (a regex over `{% include %}`-style tags) so `dodo.py` can declare every template
file a phase depends on without importing Jinja2 at task-load time.
"""

from __future__ import annotations

import re
from pathlib import Path

from package_builder.base.errors import PackageBuilderError

_REFERENCE = re.compile(r"""{%-?\s*(?:include|extends|import|from)\s+["']([^"']+)["']""")
SYSTEM_TEMPLATE = "_system.md.j2"  # shared by every phase of a package: instructions, quality bar, the plan
FILE_TEMPLATE = "_files.md.j2"  # one file of the package so far
TASK_TEMPLATE = "_task.md.j2"  # the phase's own part, last: marker, allowlist, limit, type-check, its template


def prompt_templates(phase) -> list[str]:
    """Every template a model phase's request is rendered from (the task template includes the phase's own by name,
    which `template_sources` cannot see): what the phase's task depends on and its inputs digest covers."""
    return [SYSTEM_TEMPLATE, FILE_TEMPLATE, TASK_TEMPLATE, phase.template, *phase.rendered_files.values()]


def template_sources(prompts_dir: Path, name: str) -> list[Path]:
    """`name` and every template it includes, extends or imports, transitively, in a stable order."""
    seen: list[Path] = []
    pending = [name]
    while pending:
        path = prompts_dir / pending.pop(0)
        if path in seen:
            continue
        seen.append(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError:
            continue
        pending.extend(_REFERENCE.findall(text))
    return seen


class PromptRenderer:
    """Renders templates from one prompts folder; an undefined variable is an error, never an empty string."""

    def __init__(self, prompts_dir: Path):
        import jinja2

        self.prompts_dir = prompts_dir
        self._jinja2 = jinja2
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(prompts_dir)),
            undefined=jinja2.StrictUndefined,
            keep_trailing_newline=True,
            autoescape=False,
        )

    def render(self, name: str, context: dict) -> str:
        try:
            return self.env.get_template(name).render(**context)
        except self._jinja2.TemplateNotFound as exc:
            raise PackageBuilderError(f"{self.prompts_dir / name}: template not found ({exc.name})") from None
        except self._jinja2.TemplateError as exc:
            lineno = getattr(exc, "lineno", None)  # only a TemplateSyntaxError knows its file and line
            where = f"{getattr(exc, 'filename', None)}:{lineno}" if lineno else str(self.prompts_dir / name)
            raise PackageBuilderError(f"{where}: template error: {exc.message}") from None


def template_digests(prompts_dir: Path, phase) -> dict[str, str]:
    """Prompt-relative name → digest of every template file a model phase's request is rendered from: part of its
    stored inputs, and what `doit status` compares to tell a template edit."""
    from package_builder.base.digest import digest_text

    return {
        str(p.relative_to(prompts_dir)): digest_text(p.read_text(encoding="utf-8"))
        for name in (prompt_templates(phase) if phase.calls_model else [])  # a check or merge phase renders none
        for p in template_sources(prompts_dir, name)
        if p.exists()
    }
