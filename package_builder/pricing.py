"""What a model call costs, from its real usage: a price table per model family, per million tokens, with the API's
prompt-cache multipliers (writes 1.25× the input price, reads 0.1×). `model.prices` overrides the table.

List prices in USD as published for each family; a model this table does not know is priced as Sonnet and said so
once in the progress output (a wrong price must never read as exact).
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Prices:
    """USD per million tokens."""

    input: float
    output: float
    cache_write: float
    cache_read: float

    @classmethod
    def from_input_output(cls, input_price: float, output_price: float) -> "Prices":
        return cls(input_price, output_price, round(input_price * 1.25, 6), round(input_price * 0.1, 6))

    def cost(self, input_tokens: int, output_tokens: int, cache_write_tokens: int = 0, cache_read_tokens: int = 0) -> float:
        """USD for one call's usage (`input_tokens` excludes the cached ones, as the API reports it)."""
        return (input_tokens * self.input + output_tokens * self.output + cache_write_tokens * self.cache_write
                + cache_read_tokens * self.cache_read) / 1_000_000


FAMILIES = {  # model-name fragment → list prices (input, output) per million tokens
    "opus": Prices.from_input_output(5.0, 25.0),
    "sonnet": Prices.from_input_output(3.0, 15.0),
    "haiku": Prices.from_input_output(1.0, 5.0),
}
DEFAULT_FAMILY = "sonnet"


def prices_for(model: str, override: "Prices | None" = None) -> tuple[Prices, bool]:
    """(prices, known): the override, else the model's family, else Sonnet's with known=False."""
    if override is not None:
        return override, True
    for fragment, prices in FAMILIES.items():
        if fragment in model:
            return prices, True
    return FAMILIES[DEFAULT_FAMILY], False
