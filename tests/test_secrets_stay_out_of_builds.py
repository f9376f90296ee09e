"""A model's credentials never reach the code a model wrote: a package's tests, run by `doit test:<package>` with the
API key and every other provider secret exported in the user's shell, see each of them empty."""

from __future__ import annotations

import json

import pytest

from monorepo import names
from package_builder.generation.providers import PROVIDERS

pytestmark = pytest.mark.slow  # real npm toolchain

PROVIDER_SECRETS = sorted(set().union(*(provider.SECRET_VARIABLES for provider in PROVIDERS.values())))


def test_a_package_test_sees_no_model_provider_secret_the_user_exported(monorepo):
    secrets = {name: f"secret-value-{index}-for-{name.lower()}" for index, name in enumerate(PROVIDER_SECRETS)}
    spy = monorepo.workspace / "packages/core/test/secrets.test.js"
    spy.write_text(
        "import { test } from 'node:test';\nimport assert from 'node:assert/strict';\n\n"
        f"for (const name of {json.dumps(PROVIDER_SECRETS)}) {{\n"
        "  test(`${name} is empty`, () => assert.equal(process.env[name] ?? '', '', name));\n}\n"
    )
    monorepo.git("add", "-A")
    monorepo.git("-c", "user.name=Someone", "-c", "user.email=someone@example.test", "commit", "-qm", "spy")

    result = monorepo.doit(f"test:{names(monorepo, 'core')[0]}", **secrets)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "ANTHROPIC_API_KEY" in PROVIDER_SECRETS
    assert not [value for value in secrets.values() if value in result.stdout + result.stderr]
