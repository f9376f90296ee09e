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
    if "dependencyApis" in now:
        for name, state in changed_entries(before.get("dependencyApis") or {}, now.get("dependencyApis") or {}):
            reasons.append(f"{name}'s API changed" if state == "changed" else f"workspace dependency {name} {state}")
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
        self._apis: dict[str, dict] = {}

    def _dependency_apis(self, plan) -> dict:
        """Name → digest of each workspace dependency's public API as it is now, read once per plan."""
        from package_builder.generation.suite import in_workspace

        if plan.task_name not in self._apis:
            seen = in_workspace(
                plan, self.config.workspace_root, self.config.turn_based_generation.dependency_api_chars
            ).workspace_dependencies
            self._apis[plan.task_name] = {d.name: d.api.digest for d in seen if d.api is not None}
        return self._apis[plan.task_name]

    def __call__(self, plan, phases, phase) -> dict:
        from package_builder.base.digest import digest_text
        from package_builder.generation.graph import phase_settings
        from package_builder.generation.templates import template_digests

        if phase.name not in self._templates:
            self._templates[phase.name] = template_digests(self.prompts_dir, phase)
        now: dict[str, object] = {"plan": digest_text(plan.body), "templates": self._templates[phase.name]}
        if plan.dependencies and self.config is not None and phase.calls_model:
            apis = self._dependency_apis(plan)
            if apis:
                now["dependencyApis"] = apis
        if self.config is not None:
            settings = phase_settings(self.config, phases, phase)
            now.update(model=settings.model, maxTokens=settings.max_tokens, temperature=settings.temperature)
        return now
