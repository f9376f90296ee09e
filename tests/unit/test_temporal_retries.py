"""Which failures Temporal tries again: what the environment did, never what the core decided or a request that
would fail the same way again (a replay cassette's miss included, which once kept a workflow retrying for an hour)."""

from __future__ import annotations

import pytest

from package_builder.base.errors import (
    BudgetExceeded,
    ModelAnswerError,
    ModelCallError,
    ModelRequestRefused,
    PhaseFailed,
)
from package_builder.generation.providers.replay import ReplayModel

activities = pytest.importorskip("package_builder.temporal.activities")


def failed_phase(cause: Exception) -> PhaseFailed:
    """What `run_phase` raises: the phase's failure, with its cause as context (`raise … from None`)."""
    try:
        try:
            raise cause
        except Exception:
            raise PhaseFailed(f"phase failed: {cause}") from None
    except PhaseFailed as exc:
        return exc


@pytest.mark.parametrize(
    ("cause", "retried"),
    [
        (ModelCallError("TYPES: cannot reach the model API: APIConnectionError"), True),
        (ModelRequestRefused("TYPES: the model API answered 401 authentication_error"), False),
        (ModelAnswerError("TYPES: the answer writes ../outside.ts"), False),
        (BudgetExceeded("budget.maxUsdPerRun"), False),
    ],
)
def test_only_an_unreachable_api_is_tried_again(cause, retried):
    assert activities.retried(failed_phase(cause)) is retried


def test_a_replay_cassettes_miss_is_a_refused_request(tmp_path):
    cassette = tmp_path / "cassette.json"
    cassette.write_text('{"interactions": []}')
    from package_builder.generation.providers.interface import ModelRequest

    request = ModelRequest(model="m", system="s", messages=({"role": "user", "content": "hi"},), max_tokens=10)
    with pytest.raises(ModelRequestRefused, match="no answer in cassette"):
        ReplayModel(cassette).call(request, "TYPES")
    assert not activities.retried(failed_phase(ModelRequestRefused("miss")))
