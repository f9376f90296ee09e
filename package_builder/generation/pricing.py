"""What a model call costs, from its real usage: a price table per model family, per million tokens, with the API's
prompt-cache multipliers (writes 1.25× the input price, reads 0.1×). `model.prices` overrides the table.

List prices in USD as published for each family. A model this table does not know, with no `model.prices`, has no
price we can vouch for (a wrong price must never read as exact): with a money budget set, the run refuses to start
(a budget checked against a guess is no budget); without one, it is priced as Sonnet and said so once per run.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from package_builder.base.errors import ConfigError


@dataclass(frozen=True)
class Prices:
    """USD per million tokens."""

    input: float
    output: float
    cache_write: float
    cache_read: float

    @classmethod
    def from_input_output(cls, input_price: float, output_price: float) -> Prices:
        return cls(input_price, output_price, round(input_price * 1.25, 6), round(input_price * 0.1, 6))

    def cost(
        self, input_tokens: int, output_tokens: int, cache_write_tokens: int = 0, cache_read_tokens: int = 0
    ) -> float:
        """USD for one call's usage (`input_tokens` excludes the cached ones, as the API reports it)."""
        return (
            input_tokens * self.input
            + output_tokens * self.output
            + cache_write_tokens * self.cache_write
            + cache_read_tokens * self.cache_read
        ) / 1_000_000


FAMILIES = {  # model-name fragment → list prices (input, output) per million tokens
    "opus": Prices.from_input_output(5.0, 25.0),
    "sonnet": Prices.from_input_output(3.0, 15.0),
    "haiku": Prices.from_input_output(1.0, 5.0),
}
DEFAULT_FAMILY = "sonnet"


def prices_for(model: str, override: Prices | None = None) -> tuple[Prices, bool]:
    """(prices, known): the override, else the model's family, else Sonnet's with known=False."""
    if override is not None:
        return override, True
    for fragment, prices in FAMILIES.items():
        if fragment in model:
            return prices, True
    return FAMILIES[DEFAULT_FAMILY], False


_WARNED: set[str] = set()  # models already said to be priced as a guess, in this process (one run)
_WARNED_LOCK = threading.Lock()


def configured_prices(model_settings) -> tuple[Prices, bool]:
    """(prices, known) for `model.name` under `model.prices` (either a `BuildConfig`'s section or its snapshot)."""
    override = model_settings.prices
    if override is None:
        return prices_for(model_settings.name)
    base = Prices.from_input_output(override.input, override.output)
    return Prices(
        override.input,
        override.output,
        override.cache_write if override.cache_write is not None else base.cache_write,
        override.cache_read if override.cache_read is not None else base.cache_read,
    ), True


def prices_for_run(model_settings, budget_settings, config_path: Path, say: Callable[[str], None]) -> Prices:
    """The prices calls are charged and budgets checked at; an unknown model raises `ConfigError` when a money budget
    is set, and otherwise is priced as Sonnet with one line saying so (the first time in this run)."""
    prices, known = configured_prices(model_settings)
    if known:
        return prices
    name = model_settings.name
    budgets = [
        field
        for field, cap in (
            ("budget.maxUsdPerPackage", budget_settings.max_usd_per_package),
            ("budget.maxUsdPerRun", budget_settings.max_usd_per_run),
        )
        if cap is not None
    ]
    if budgets:
        raise ConfigError(
            f"{config_path}: field model.name: {name!r} is not in the price table (opus, sonnet, haiku), "
            f"so {' and '.join(budgets)} cannot be checked: set model.prices to what you pay, e.g. "
            '"prices": {"input": 3.0, "output": 15.0} (USD per million tokens), or remove the budget'
        )
    with _WARNED_LOCK:
        if name in _WARNED:
            return prices
        _WARNED.add(name)
    say(
        f"note: model.name {name!r} is not in the price table (opus, sonnet, haiku): its costs are shown at "
        f"{DEFAULT_FAMILY.title()}'s prices (${prices.input:g} in / ${prices.output:g} out per million tokens) and may "
        f"be wrong; set model.prices in {config_path} to what you pay"
    )
    return prices
