"""What generating a plan will cost, before anything is spent: no API key, no network.

Every model phase's request is rendered exactly as the runner would render it (`runner.request.prepare`), over a
package simulated from what the earlier phases are expected to write: each phase's answer is taken to fill a share of
its output budget (`EXPECTED_SHARE`; the range runs from `LOW_SHARE` to the whole budget). Input tokens are counted
offline (characters / 3.5, the pacer's conservative rule), the prompt cache is applied with the API's rules (a prefix
is read when an earlier request wrote it at one of its breakpoints, written when it reaches 1,024 tokens), and the
cost uses the same prices as real calls (a model the price table does not know, with no `model.prices`, is estimated
at Sonnet's and the table says so). BUILD_VALIDATION asks the model only to repair a red package: its expected
cost is nothing, its worst case one repair per allowed attempt.
"""

from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass
from pathlib import Path

from package_builder.base.config import BuildConfig
from package_builder.base.paths import ProjectPaths
from package_builder.generation.artifacts import COMMITTED, SKIPPED, ArtifactStore, PhaseArtifact
from package_builder.generation.graph import phase_settings
from package_builder.generation.pacing import estimate_input_tokens
from package_builder.generation.phase import PhaseSpec
from package_builder.generation.plan import PlanSpec
from package_builder.generation.pricing import configured_prices
from package_builder.generation.run_context import RunContext

EXPECTED_SHARE = 0.20  # of a phase's output budget, for a typical answer
LOW_SHARE = 0.10
CACHE_FLOOR_TOKENS = 1024


@dataclass(frozen=True)
class PhaseEstimate:
    """One phase's expected request and its cost: low (short answers), expected, high (full budgets)."""

    phase: str
    input_tokens: int
    cached_tokens: int
    output_budget: int
    low_usd: float
    expected_usd: float
    high_usd: float
    unpriced_model: str | None = None  # a model the price table does not know: the costs are Sonnet's, a guess


def estimate_plan(
    project: ProjectPaths, config: BuildConfig, config_path: Path, plan: PlanSpec, phases: tuple[PhaseSpec, ...]
) -> list[PhaseEstimate]:
    from package_builder.generation.runner.context import PhaseContext
    from package_builder.generation.runner.request import prepare

    prices, known = configured_prices(config.model)
    with tempfile.TemporaryDirectory(prefix="package-builder-estimate-") as scratch:
        store = ArtifactStore(Path(scratch), plan.task_name)
        written: set[str] = set()  # prefix digests the simulated requests wrote to the cache
        quiet = RunContext(progress=lambda line: None)  # an estimate spends nothing and says nothing per phase
        estimates = []
        for phase in phases:
            settings = phase_settings(config, phases, phase)
            if not phase.calls_model or not settings.enabled:
                store.save(phase.slug, _simulated(phase, plan, 0, SKIPPED))
                continue
            ctx = PhaseContext(
                project=project,
                config_path=config_path,
                config=config,
                plan=plan,
                phases=phases,
                phase=phase,
                settings=settings,
                store=store,
                run=quiet,
            )
            request = prepare(ctx)
            blocks = [request.system, *request.files, request.task]
            breakpoints = [
                0,
                *(1 + i for i, block in enumerate(request.user_content()[:-1]) if "cache_control" in block),
            ]
            sent, read, write = _cache_use(blocks, breakpoints, written)
            expected_out = 0 if phase.runs_checks else int(settings.max_tokens * EXPECTED_SHARE)
            low_out = 0 if phase.runs_checks else int(settings.max_tokens * LOW_SHARE)
            repairs = settings.max_repair_attempts if phase.runs_checks else 1
            called = 0 if phase.runs_checks else 1  # a green package needs no repair call
            estimates.append(
                PhaseEstimate(
                    phase=phase.name,
                    input_tokens=sent,
                    cached_tokens=read,
                    output_budget=settings.max_tokens,
                    low_usd=called * prices.cost(sent - read - write, low_out, write, read),
                    expected_usd=called * prices.cost(sent - read - write, expected_out, write, read),
                    high_usd=repairs * prices.cost(sent - read - write, settings.max_tokens, write, read),
                    unpriced_model=None if known else config.model.name,
                )
            )
            store.save(phase.slug, _simulated(phase, plan, expected_out, COMMITTED))
    return estimates


def _simulated(phase: PhaseSpec, plan: PlanSpec, output_tokens: int, status: str) -> PhaseArtifact:
    """A stand-in for what `phase` will write: one file of the expected size in a path it may write."""
    files = {}
    if output_tokens and phase.write_allowlist:
        path = phase.write_allowlist[0].replace("**", f"{phase.kebab}-expected").replace("*", "expected")
        files[path] = ("expected content " * (output_tokens * 4 // 17 + 1))[: output_tokens * 4]
    return PhaseArtifact(
        phase=phase.name,
        number=phase.number,
        task_name=plan.task_name,
        package_name=plan.package_name,
        inputs_digest="estimate",
        inputs={},
        status=status,
        files=files,
    )


def _cache_use(blocks: list[str], breakpoints: list[int], written: set[str]) -> tuple[int, int, int]:
    """(tokens sent, read from the cache, written to it) for one request; records what it writes."""
    digest, digests, cumulative, running = hashlib.sha256(), [], [], 0
    for block in blocks:
        digest.update(block.encode("utf-8"))
        digests.append(digest.copy().hexdigest())
        running += estimate_input_tokens(block)
        cumulative.append(running)
    hit = max((i for i in range(len(blocks)) if digests[i] in written), default=-1)
    read = cumulative[hit] if hit >= 0 else 0
    last = max((b for b in breakpoints if b > hit and cumulative[b] >= CACHE_FLOOR_TOKENS), default=-1)
    written.update(digests[b] for b in breakpoints if cumulative[b] >= CACHE_FLOOR_TOKENS)
    return running, read, (cumulative[last] - read) if last >= 0 else 0


def report(plan: PlanSpec, estimates: list[PhaseEstimate]) -> str:
    """The table `doit estimate:<plan>` prints."""
    lines = [
        f"estimate for {plan.package_name} ({plan.plan_path.name}): no model call, prices per million tokens of "
        f"the configured model; answers expected at {EXPECTED_SHARE:.0%} of each output budget",
        f"{'phase':<22}{'input':>8}{'cached':>8}{'budget':>8}  {'cost (low / expected / high)'}",
    ]
    for e in estimates:
        lines.append(
            f"{e.phase:<22}{e.input_tokens:>8}{e.cached_tokens:>8}{e.output_budget:>8}  "
            f"${e.low_usd:.4f} / ${e.expected_usd:.4f} / ${e.high_usd:.4f}"
        )
    total = [sum(getattr(e, f) for e in estimates) for f in ("low_usd", "expected_usd", "high_usd")]
    lines.append(
        f"{'total':<22}{sum(e.input_tokens for e in estimates):>8}"
        f"{sum(e.cached_tokens for e in estimates):>8}{sum(e.output_budget for e in estimates):>8}  "
        f"${total[0]:.4f} / ${total[1]:.4f} / ${total[2]:.4f}"
    )
    for dependency in plan.workspace_dependencies:
        if dependency.api is not None:
            cut = ", trimmed to it" if dependency.api.trimmed else ""
            lines.append(
                f"workspace dependency {dependency.name}: its API ({dependency.api.source}) is in every request, "
                f"{len(dependency.api.text)} characters (turnBasedGeneration.dependencyApiChars{cut})"
            )
    unpriced = next((e.unpriced_model for e in estimates if e.unpriced_model), None)
    if unpriced:
        lines.append(
            f"model.name {unpriced!r} is not in the price table (opus, sonnet, haiku): these are Sonnet's "
            "prices, a guess; set model.prices to what you pay"
        )
    return "\n".join(lines)
