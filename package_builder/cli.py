"""`package-builder`: the tasks `doit` runs in a checkout (status, generate, estimate, install, build, test,
publish, and doit's own list, info, forget...), from any folder, once package-builder is installed:

    package-builder --config path/to/build-env.json generate:<name>
    PACKAGE_BUILDER_CONFIG=path/to/build-env.json package-builder list

Everything after the config is doit's command line. This module only reads the arguments; `tasks.command` is the
doit side (where the phases, prompts, plans and doit's dep file are found).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from package_builder.base.paths import CONFIG_ENV

USAGE = """usage: package-builder [--config PATH] [doit command or tasks...]

  --config PATH   the build-env.json to use (else $PACKAGE_BUILDER_CONFIG); its plansDir names the plans
                  (else plans/packages/ beside it); see configs/build-env.example.json in package-builder's repo

  package-builder --config build-env.json               where each plan's generation stands (the default, status)
  package-builder --config build-env.json list          the tasks: generate:<name>, estimate:<name>, build:<pkg>...
  package-builder --config build-env.json generate:NAME generate one package (or resume it)
  package-builder --config build-env.json help          doit's own help on its commands
"""


class UsageError(Exception):
    """The command line cannot be run as given; the message says what to pass instead."""


def split_config(args: list[str]) -> tuple[str | None, list[str]]:
    """`--config PATH` or `--config=PATH`, wherever it stands, and the rest of the arguments for doit."""
    config, rest, pending = None, [], iter(args)
    for arg in pending:
        if arg == "--config":
            config = next(pending, None)
            if config is None:
                raise UsageError("--config needs a path: --config path/to/build-env.json")
        elif arg.startswith("--config="):
            config = arg.partition("=")[2]
        else:
            rest.append(arg)
    return config, rest


def config_file(option: str | None) -> Path:
    """The config the command runs on: `--config`, else $PACKAGE_BUILDER_CONFIG; it must be an existing file."""
    named = option or os.environ.get(CONFIG_ENV)
    if not named:
        raise UsageError(f"no config: pass --config path/to/build-env.json (or set {CONFIG_ENV})")
    path = Path(named).expanduser().resolve()
    if not path.is_file():
        source = "--config" if option else CONFIG_ENV
        raise UsageError(
            f"config file {path} (from {source}) does not exist: copy configs/build-env.example.json "
            "there and set workspaceRoot, or name another file"
        )
    return path


def version_line() -> str:
    """`package-builder 0.1.0 (/…/site-packages/package_builder)`: which install answers, when there are several."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        number = version("package-builder")
    except PackageNotFoundError:  # run from a checkout that was never installed
        number = "(not installed)"
    return f"package-builder {number} ({Path(__file__).resolve().parent})"


def main(argv: list[str] | None = None) -> int:
    """Entry point of `package-builder`: 2 for a command line it cannot run, else doit's exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in ("-h", "--help"):
        print(USAGE, end="")
        return 0
    if args and args[0] == "--version":
        print(version_line())
        return 0
    try:
        option, rest = split_config(args)
        config = config_file(option)
    except UsageError as exc:
        print(f"package-builder: {exc}\n(package-builder --help shows how to call it)", file=sys.stderr)
        return 2
    # doit and the task creators: only once there is something to run
    from package_builder.tasks.command import run_doit

    return run_doit(config, rest)


if __name__ == "__main__":
    sys.exit(main())
