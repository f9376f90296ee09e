"""What a package costs: prompts laid out for the API's prompt cache, money per call, phase and package, and budgets
that stop a call before it could cross them. The Messages API server applies the real caching rules and reports the
usage the API would; answers are about half of each phase's output budget, as real ones are. Build validation is off
here: these stories are about the model's bill, not the toolchain."""

from __future__ import annotations

import json

import pytest

from messages_api import MessagesAPIServer
from test_rate_limits import realistic_answer

pytestmark = pytest.mark.slow  # whole generations (without the toolchain, but every phase)

SONNET = {"input": 3.0, "output": 15.0, "cache_write": 3.75, "cache_read": 0.30}  # USD per million tokens


@pytest.fixture
def api():
    with MessagesAPIServer(default=realistic_answer) as server:
        yield server


def server_bill(api) -> dict:
    """What the server counted, priced at Sonnet's list prices."""
    usage = {
        key: sum(u[key] for u in api.usage)
        for key in ("input_tokens", "output_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
    }
    input_side = (
        usage["input_tokens"] * SONNET["input"]
        + usage["cache_creation_input_tokens"] * SONNET["cache_write"]
        + usage["cache_read_input_tokens"] * SONNET["cache_read"]
    ) / 1e6
    return {**usage, "input_usd": input_side, "total_usd": input_side + usage["output_tokens"] * SONNET["output"] / 1e6}


def test_a_package_reads_most_of_its_input_from_the_cache_and_reports_what_it_cost(project):
    project.write_config(buildValidation={"enabled": False})

    result = project.doit("generate:data-validator", check=True)

    bill = server_bill(project.api)
    sent = bill["input_tokens"] + bill["cache_creation_input_tokens"] + bill["cache_read_input_tokens"]
    share = bill["cache_read_input_tokens"] / sent
    print(
        f"input {sent} tokens, {share:.0%} from cache, input-side ${bill['input_usd']:.3f}, "
        f"total ${bill['total_usd']:.3f}"
    )
    assert share >= 0.5
    assert bill["input_usd"] <= 0.20
    state = project.state()
    assert abs(state["costUsd"] - bill["total_usd"]) <= 0.05 * bill["total_usd"]
    assert all("costUsd" in step for step in state["completedSteps"])
    assert f"cost ${state['costUsd']:.4f}" in result.stdout, "the closing line gives the package's total"
    assert "from cache) /" in result.stdout and "$0.0" in result.stdout, "progress lines carry cache reads and cost"
    artifact = json.loads((project.workspace / ".generation-state/data-validator/08-testing.json").read_text())
    assert artifact["usage"]["cacheReadTokens"] > 0 and artifact["usage"]["costUsd"] > 0


def test_a_budget_stops_before_a_call_that_could_cross_it_and_a_higher_budget_resumes(project):
    project.write_config(buildValidation={"enabled": False}, budget={"maxUsdPerPackage": 0.25})

    stopped = project.doit("generate:data-validator")

    assert stopped.returncode != 0
    assert "budget.maxUsdPerPackage is $0.25; this package has spent $" in stopped.stdout
    spent = project.state()["costUsd"]
    assert 0.1 < spent <= 0.25
    answered = project.api.phases_called()

    project.write_config(buildValidation={"enabled": False}, budget={"maxUsdPerPackage": 5})
    project.doit("generate:data-validator", check=True)

    calls = project.api.phases_called()
    assert calls[: len(answered)] == answered
    assert not set(answered) & set(calls[len(answered) :]), "no answered request is asked again"
    assert project.state()["status"] == "completed"


def test_the_estimate_needs_no_key_and_comes_within_30_percent_of_the_replayed_run(project):
    from conftest import REPO

    project.write_config(model={"provider": "replay", "cassette": str(REPO / "examples/data-validator/cassette.json")})
    offline = dict(ANTHROPIC_API_KEY=None, ANTHROPIC_BASE_URL="http://127.0.0.1:9")

    estimate = project.doit("estimate:data-validator", check=True, **offline)

    rows = {line.split()[0]: line for line in estimate.stdout.splitlines() if line.split()[:1]}
    assert all(phase in rows for phase in ("PLANNING", "TESTING", "FINAL_POLISH"))
    expected = float(rows["total"].split("/")[1].strip().lstrip("$"))
    assert project.api.hits == [], "nothing spent"
    assert not (project.workspace / ".generation-state").exists(), "nothing written"

    project.doit("generate:data-validator", check=True, **offline)
    spent = project.state()["costUsd"]
    print(f"estimate ${expected:.4f}, replayed run ${spent:.4f}")
    assert abs(expected - spent) <= 0.30 * spent
