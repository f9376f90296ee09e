"""Where each secret comes from (the environment first, then the config file), and which environment variables hold
one: those are emptied for every command we run, so no install, build, test or model-written code sees them."""

from __future__ import annotations

import os

# Never seen by an install, a build or a test (which may run model-written code). They are set empty rather than
# removed, so a `.npmrc` or `.yarnrc.yml` that names one (`${NPM_TOKEN}`) still parses.
SECRET_VARIABLES = frozenset(
    {
        "NPM_TOKEN",
        "NODE_AUTH_TOKEN",
        "ANTHROPIC_API_KEY",
        "ANTHROPIC_AUTH_TOKEN",
        "PACKAGE_BUILDER_REMOTE_CACHE_TOKEN",
        "TURBO_TOKEN",
    }
)


def npm_token(config) -> str | None:
    """`NPM_TOKEN`, else `npmToken` (a `BuildConfig` or a snapshot): it only ever goes into a temporary userconfig
    file (see publishing.py), and output that might show it is redacted."""
    return os.environ.get("NPM_TOKEN") or (config.npm_token.get_secret_value() if config.npm_token else None)


def remote_cache_token(settings) -> str | None:
    """`PACKAGE_BUILDER_REMOTE_CACHE_TOKEN`, else `TURBO_TOKEN`, else `builds.remoteCache.token`."""
    return (
        os.environ.get("PACKAGE_BUILDER_REMOTE_CACHE_TOKEN")
        or os.environ.get("TURBO_TOKEN")
        or (settings.token.get_secret_value() if settings.token else None)
    )
