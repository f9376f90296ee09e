"""A model the price table does not know has no price we can vouch for. Under a money budget the run refuses to start,
naming the model and the fields to set; with `model.prices` set the budget is checked at that price; with no budget the
run goes on and says once that its costs are a guess. Each story is `doit` as the user runs it."""

from __future__ import annotations

import pytest

UNKNOWN = "claude-nova-1"
ONE_PHASE = "generate:data-validator:01-planning"
NOTE = f"note: model.name '{UNKNOWN}' is not in the price table"


def priced(usage: list[dict], input_usd: float, output_usd: float) -> float:
    """What the server's counted usage costs at these prices (cache writes 1.25×, reads 0.1× input)."""
    return (
        sum(
            u["input_tokens"] * input_usd
            + u["output_tokens"] * output_usd
            + u["cache_creation_input_tokens"] * input_usd * 1.25
            + u["cache_read_input_tokens"] * input_usd * 0.1
            for u in usage
        )
        / 1e6
    )


@pytest.mark.parametrize("budget", ["maxUsdPerPackage", "maxUsdPerRun"])
def test_an_unknown_model_under_a_budget_refuses_to_start_naming_the_fields(project, budget):
    project.write_config(model={"name": UNKNOWN}, budget={budget: 5})

    result = project.doit(ONE_PHASE)

    assert result.returncode != 0
    assert (
        f"{project.config_path}: field model.name: '{UNKNOWN}' is not in the price table (opus, sonnet, haiku), "
        f"so budget.{budget} cannot be checked: set model.prices to what you pay"
    ) in result.stdout
    assert project.api.hits == [], "nothing was asked"
    assert project.git("branch", "--list").split() == ["*", "main"], "no branch was made"


def test_a_price_in_the_config_lets_the_budget_check_an_unknown_model(project):
    project.write_config(
        model={"name": UNKNOWN, "prices": {"input": 1.0, "output": 2.0}},
        budget={"maxUsdPerPackage": 5},
        buildValidation={"enabled": False},
    )

    result = project.doit(ONE_PHASE, check=True)

    assert "price table" not in result.stdout
    assert project.state()["costUsd"] == pytest.approx(priced(project.api.usage, 1.0, 2.0), abs=2e-6)


def test_an_unknown_model_without_a_budget_goes_on_and_says_once_that_its_costs_are_a_guess(project):
    project.write_config(model={"name": UNKNOWN}, buildValidation={"enabled": False})

    result = project.doit("generate:data-validator:03-types", check=True)

    assert len(project.api.usage) >= 3
    assert result.stdout.count(NOTE) == 1, result.stdout
    assert (
        f"{NOTE} (opus, sonnet, haiku): its costs are shown at Sonnet's prices ($3 in / $15 out per million "
        f"tokens) and may be wrong; set model.prices in {project.config_path} to what you pay"
    ) in result.stdout
    assert project.state()["costUsd"] == pytest.approx(priced(project.api.usage, 3.0, 15.0), abs=5e-6)


def test_the_estimate_says_its_prices_are_a_guess_for_an_unknown_model():
    from conftest import PLAN
    from package_builder.generation.estimate import PhaseEstimate, report
    from package_builder.generation.plan import parse_plan

    guessed = PhaseEstimate("PLANNING", 1000, 0, 2000, 0.01, 0.02, 0.03, unpriced_model=UNKNOWN)

    assert report(parse_plan(PLAN), [guessed]).splitlines()[-1] == (
        f"model.name '{UNKNOWN}' is not in the price table (opus, sonnet, haiku): these are Sonnet's prices, a guess; "
        "set model.prices to what you pay"
    )
    assert "price table" not in report(parse_plan(PLAN), [PhaseEstimate("PLANNING", 1000, 0, 2000, 0.01, 0.02, 0.03)])
