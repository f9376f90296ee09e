"""Budgets stop a call before its worst case could cross them, naming the budget and what is spent; prices turn
usage into money with the API's cache multipliers."""

from __future__ import annotations

import pickle
from types import SimpleNamespace

import pytest

from package_builder.base.errors import BudgetExceeded
from package_builder.generation.pricing import Prices, prices_for
from package_builder.generation.run_context import RunBudget, RunContext
from package_builder.generation.runner.budget import Budget
from package_builder.generation.state import GenerationState

SONNET = Prices.from_input_output(3.0, 15.0)


@pytest.fixture
def state(tmp_path):
    return GenerationState(tmp_path / "gen-1.json", {"costUsd": 0.0})


def settings(package=None, run=None):
    return SimpleNamespace(max_usd_per_package=package, max_usd_per_run=run)


def test_prices_follow_the_api_cache_multipliers():
    assert SONNET.cost(1_000_000, 0) == 3.0 and SONNET.cost(0, 1_000_000) == 15.0
    assert SONNET.cost(0, 0, cache_write_tokens=1_000_000) == pytest.approx(3.75)
    assert SONNET.cost(0, 0, cache_read_tokens=1_000_000) == pytest.approx(0.30)
    assert prices_for("claude-opus-9")[0].output == 25.0 and prices_for("claude-haiku-9")[0].input == 1.0
    assert prices_for("some-other-model") == (prices_for("claude-sonnet-5-5")[0], False)


def test_a_package_budget_stops_the_call_that_could_cross_it(state):
    budget = Budget(settings(package=0.10), SONNET, state, RunBudget())
    budget.charge(0.07)
    budget.check(0.03)  # 0.10 exactly: allowed
    with pytest.raises(
        BudgetExceeded,
        match=r"budget.maxUsdPerPackage is \$0.10; this package has spent \$0.0700 "
        r"and the next call could cost up to \$0.0400",
    ):
        budget.check(0.04)
    assert state.cost_usd == pytest.approx(0.07)
    assert GenerationState(state.path, {}).data == {} and '"costUsd": 0.07' in state.path.read_text()


def test_a_run_budget_counts_every_package_of_the_run(state, tmp_path):
    run = RunContext()
    other = GenerationState(tmp_path / "gen-2.json", {"costUsd": 0.0})
    Budget(settings(run=0.05), SONNET, other, run.budget).charge(0.04)
    with pytest.raises(BudgetExceeded, match=r"budget.maxUsdPerRun is \$0.05; this run has spent \$0.0400"):
        Budget(settings(run=0.05), SONNET, state, run.budget).check(0.02)


def test_two_runs_in_one_process_keep_separate_spends(state, tmp_path):
    """A Temporal worker runs many workflows in one process: one run's spend never stops another's calls."""
    spender, other = RunContext(), RunContext()
    spent = GenerationState(tmp_path / "gen-2.json", {"costUsd": 0.0})
    Budget(settings(run=0.05), SONNET, spent, spender.budget).charge(0.04)

    Budget(settings(run=0.05), SONNET, state, other.budget).check(0.05)  # the other run has spent nothing

    assert (spender.budget.spent, other.budget.spent) == (pytest.approx(0.04), 0.0)
    assert spender.run_id != other.run_id


def test_the_worst_case_is_all_input_written_to_the_cache_and_a_full_output(state):
    budget = Budget(settings(), SONNET, state, RunBudget())
    assert budget.worst_case(["x" * 35_000], 1000) == pytest.approx(10_000 * 3.75 / 1e6 + 1000 * 15 / 1e6)


def test_a_run_context_crosses_into_a_doit_worker_process_with_its_spend(tmp_path):
    """doit may pickle a task's arguments into a worker (`doit -n 2`): the run's lock cannot go, its spend does."""
    run = RunContext()
    run.budget.add(0.25)

    copy = pickle.loads(pickle.dumps(run))

    assert copy.run_id == run.run_id and copy.budget.spent == 0.25
    copy.budget.add(0.25)
    assert (run.budget.spent, copy.budget.spent) == (0.25, 0.5)
