"""Why a generation phase that had finished must run again, named from the inputs its artifact stored: the plan, a
template (by file), an upstream phase's output (by phase), the model, the output budget, the temperature, the write
allowlist, the type-check result. The runner prints it before it pays for a call; `doit status` shows the cheap part
of it (plan, templates, settings) for every plan without rendering anything.
"""

from __future__ import annotations

from package_builder.base.digest import changed_entries

SETTINGS = (("model", "model"), ("maxTokens", "output budget"), ("temperature", "temperature"))


def changed_inputs(before: dict, now: dict) -> list[str]:
    """The reasons, in a stable order; only the keys present in `now` are compared (status passes a few)."""
    reasons = []
    if "plan" in now and before.get("plan") != now["plan"]:
        reasons.append("the plan changed")
    if "templates" in now:
        for name, state in changed_entries(before.get("templates") or {}, now["templates"]):
            reasons.append(f"template prompts/{name} {state}")
    if "upstream" in now:
        for phase, _ in changed_entries(before.get("upstream") or {}, now["upstream"]):
            reasons.append(f"{phase}'s output changed")
    for key, label in SETTINGS:
        if key in now and before.get(key) != now[key]:
            reasons.append(f"{label} {before.get(key)} → {now[key]}")
    if "writeAllowlist" in now and before.get("writeAllowlist") != now["writeAllowlist"]:
        reasons.append("its write allowlist changed")
    if "typeCheck" in now and before.get("typeCheck") != now["typeCheck"]:
        reasons.append("the type-check result it is given changed")
    if "renderedFiles" in now and before.get("renderedFiles") != now["renderedFiles"]:
        reasons.append("the files package-builder renders for it changed")
    if not reasons and "promptDigest" in now and before.get("promptDigest") != now["promptDigest"]:
        reasons.append("its rendered prompt changed")
    return reasons


class VisibleInputs:
    """What status can compare without rendering a prompt: the plan, the templates, the model settings. Template
    digests are computed once per phase for all plans."""

    def __init__(self, prompts_dir, config) -> None:
        self.prompts_dir = prompts_dir
        self.config = config
        self._templates: dict[str, dict] = {}

    def __call__(self, plan, phases, phase) -> dict:
        from package_builder.base.digest import digest_text
        from package_builder.generation.graph import phase_settings
        from package_builder.generation.templates import template_digests

        if phase.name not in self._templates:
            self._templates[phase.name] = template_digests(self.prompts_dir, phase)
        now: dict[str, object] = {"plan": digest_text(plan.body), "templates": self._templates[phase.name]}
        if self.config is not None:
            settings = phase_settings(self.config, phases, phase)
            now.update(model=settings.model, maxTokens=settings.max_tokens, temperature=settings.temperature)
        return now
