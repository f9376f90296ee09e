"""`python -m package_builder.temporal worker | submit PLAN… | status | cancel PLAN…`, run in a package-builder checkout
(its config's `temporal` section: address, namespace, taskQueue)."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

from package_builder.base.errors import PackageBuilderError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m package_builder.temporal", description=__doc__)
    parser.add_argument("--project", type=Path, default=Path.cwd(), help="the package-builder checkout (default: here)")
    commands = parser.add_subparsers(dest="command", required=True)
    worker = commands.add_parser("worker", help="run phases from the task queue until stopped (SIGINT, SIGTERM)")
    worker.add_argument("--identity", help="the name status shows for this worker (default: pid@host)")
    submit = commands.add_parser("submit", help="start (or attach to) one generation workflow per plan")
    submit.add_argument("plans", nargs="*", help="plan files or plan names")
    submit.add_argument("--all", action="store_true", help="every plan of the plans folder")
    submit.add_argument("--wait", action="store_true", help="wait for the workflows and exit non-zero if one failed")
    show = commands.add_parser("status", help="every generation workflow: plan, phase, steps, tokens, cost, worker")
    show.add_argument("--json", action="store_true")
    cancel = commands.add_parser("cancel", help="cancel the running workflow of each plan named")
    cancel.add_argument("plans", nargs="+")
    args = parser.parse_args(argv)
    if args.command == "submit" and not args.plans and not args.all:
        parser.error("submit: name plans, or --all")

    from package_builder.temporal import client

    root = args.project.resolve()
    commands_run = {
        "worker": lambda: client.run_worker(root, args.identity),
        "submit": lambda: client.submit(root, args.plans, args.all, args.wait),
        "status": lambda: client.status(root, args.json),
        "cancel": lambda: client.cancel(root, args.plans),
    }
    try:
        return asyncio.run(commands_run[args.command]()) or 0
    except PackageBuilderError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
    except KeyboardInterrupt:
        return 130


def exit_now(code: int) -> None:
    """Leave without interpreter teardown: the SDK's Rust runtime keeps threads that can abort a finalizing Python
    ("PyGILState_Release: thread state must be current", temporalio/sdk-python#300), which turned a finished `submit`
    into exit -6. Everything the command says is flushed first; it holds nothing else to close."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    exit_now(main())
