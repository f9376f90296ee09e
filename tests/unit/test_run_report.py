"""The closing table and summary.json of a build run tell the truth without noise: *failed* only for what ran and
failed, with its reason; *not run* for what a failure held back; rows that fit the terminal, the full text kept in
summary.json."""

from __future__ import annotations

import json

from package_builder.builds.outcomes import outcome_table, write_run_summary
from package_builder.builds.publishing import npm_error

CORE, WEB, EXAMPLE, DOCS = "@x/core", "@x/web", "@x/example", "@x/docs"
REFUSED = "npm publish: 413 Payload Too Large - PUT http://127.0.0.1:4873/@x%2fcore - request entity too large"
OUTCOMES = {
    CORE: {"build": "built", "test": "tested", "publish": "failed"},
    WEB: {"build": "built", "test": "tested", "publish": f"not run: publish:{CORE} failed"},
    EXAMPLE: {"build": "built", "test": "tested", "publish": "skipped (private package)"},
    DOCS: {"build": "built", "test": "tested", "publish": "published (1.0.0 with tag latest)"},
}


def test_summary_fails_exactly_what_ran_and_failed_with_its_reason(tmp_path):
    path = write_run_summary(tmp_path, OUTCOMES, {CORE: {"publish": REFUSED}})

    summary = json.loads(path.read_text())
    assert summary["failed"] == [CORE], "a package held back by another's failure did not fail"
    assert summary["not_run"] == [WEB]
    assert summary["ok"] is False
    assert summary["packages"][CORE] == {"build": "built", "test": "tested", "publish": "failed", "reason": REFUSED}
    assert "reason" not in summary["packages"][WEB] and "reason" not in summary["packages"][DOCS]


def test_a_run_where_only_held_back_work_remains_is_not_ok(tmp_path):
    path = write_run_summary(tmp_path, {WEB: {"build": "not run: build:@x/core failed"}})

    summary = json.loads(path.read_text())
    assert summary == {
        "ok": False,
        "failed": [],
        "not_run": [WEB],
        "packages": {WEB: {"build": summary["packages"][WEB]["build"]}},
    }


def test_a_failed_cell_carries_its_reason_and_rows_fit_the_terminal_with_an_ellipsis():
    outcomes = {
        **OUTCOMES,
        WEB: {**OUTCOMES[WEB], "publish": "not run: " + ", ".join([f"publish:@x/p{i}" for i in range(30)])},
    }

    wide = outcome_table(outcomes, {CORE: {"publish": REFUSED}}, 1000)
    narrow = outcome_table(outcomes, {CORE: {"publish": REFUSED}}, 80)

    assert any(line.startswith(CORE) and line.endswith(f"failed: {REFUSED}") for line in wide)
    assert max(len(line) for line in wide) > 300, "nothing cut when there is room"
    assert all(len(line) <= 80 for line in narrow), narrow
    core_row = next(line for line in narrow if line.startswith(CORE))
    assert "failed: npm publish: 413" in core_row and core_row.endswith("…")
    assert narrow[0].split() == ["package", "build", "test", "publish"]
    assert any(line.startswith(DOCS) and "built" in line and "tested" in line for line in narrow), (
        "short cells stay whole"
    )


def test_npm_s_own_account_of_a_refusal_is_the_reason():
    output = (
        "npm notice Publishing to http://127.0.0.1:4873/ with tag latest and public access\n"
        "npm error code E413\n"
        "npm error 413 Payload Too Large - PUT http://127.0.0.1:4873/@x%2fcore - request entity too large\n"
        "npm error A complete log of this run can be found in: /tmp/x.log\n"
    )

    assert npm_error(output) == "413 Payload Too Large - PUT http://127.0.0.1:4873/@x%2fcore - request entity too large"
    assert npm_error("npm error code E401\n") == "E401"
    assert npm_error("sh: 1: tsc: not found\n") == ""
