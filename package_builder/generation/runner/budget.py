"""Money: every call's cost from its real usage, charged to the package's checkpoint and to this run, and the budgets
(`budget.maxUsdPerPackage`, `budget.maxUsdPerRun`) that stop a call before its worst case could cross them.

A run's spend lives in memory, in its `RunBudget` (run_context.py: one per `doit` command or Temporal workflow). A
package's spend lives in its checkpoint (`costUsd`), so it survives reruns: a stop is resumed by raising the budget,
and nothing answered is asked again.
"""

from __future__ import annotations

from package_builder.base.errors import BudgetExceeded
from package_builder.generation.pacing import estimate_input_tokens
from package_builder.generation.pricing import Prices
from package_builder.generation.run_context import RunBudget
from package_builder.generation.state import GenerationState


class Budget:
    """The spending caps of one phase's calls, and where their cost is recorded."""

    def __init__(self, settings, prices: Prices, state: GenerationState, run: RunBudget):
        self.settings = settings
        self.prices = prices
        self.state = state
        self.run = run

    def worst_case(self, texts: list[str], max_tokens: int) -> float:
        """USD a call could cost at most: all its input written to the cache, and a full output."""
        return self.prices.cost(0, max_tokens, cache_write_tokens=estimate_input_tokens(*texts))

    def check(self, worst_usd: float) -> None:
        """Raise `BudgetExceeded`, naming the budget, when a call costing `worst_usd` could cross one."""
        for field, cap, spent, whose in (
            ("budget.maxUsdPerPackage", self.settings.max_usd_per_package, self.state.cost_usd, "this package"),
            ("budget.maxUsdPerRun", self.settings.max_usd_per_run, self.run.spent, "this run"),
        ):
            if cap is not None and spent + worst_usd > cap:
                raise BudgetExceeded(
                    f"{field} is ${cap:.2f}; {whose} has spent ${spent:.4f} and the next call could "
                    f"cost up to ${worst_usd:.4f}: raise {field} and run again (nothing answered "
                    "is asked again)"
                )

    def charge(self, usd: float) -> None:
        self.state.charge(usd)
        self.run.add(usd)
