"""Publish workspace packages to the configured npm registry (`doit publish`), dependencies first.

The token reaches npm only through a temporary userconfig file (mode 0600, in a 0700 folder, removed afterwards):
never on a command line, in the environment we build, a log, an outcome or an exception. npm's own debug logs are
turned off for these runs, and every output we keep passes through `redact`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from package_builder.base.console import say
from package_builder.base.locks import process_alive
from package_builder.builds.monorepo import DEPENDENCY_SECTIONS, WorkspacePackage
from package_builder.builds.outcomes import Outcome, record_outcome
from package_builder.builds.steps import StepFailed, find_package, toolchain_for

if TYPE_CHECKING:
    from package_builder.base.config import BuildConfig

_CREDENTIAL = re.compile(r"((?:_authToken|_auth|_password)\s*=\s*)\S+|\bnpm_[A-Za-z0-9]{36}\b")


def redact(text: str, secret: str | None) -> str:
    """`text` with the token, and anything that looks like an npm credential, replaced by `***`."""
    if secret:
        text = text.replace(secret, "***")
    return _CREDENTIAL.sub(lambda m: (m.group(1) or "") + "***", text)


USERCONFIG_PREFIX = "package-builder-npm-"


@contextmanager
def npm_userconfig(registry: str, token: str | None) -> Iterator[Path]:
    """A throwaway npm userconfig that holds the registry, the token for it, and no debug logs. Its folder is named
    after this process, so a run killed before its cleanup (SIGKILL) has its file removed by the next one."""
    remove_stale_userconfigs()
    folder = Path(tempfile.mkdtemp(prefix=f"{USERCONFIG_PREFIX}{os.getpid()}-"))  # mode 0700
    path = folder / "npmrc"
    lines = [f"registry={registry}", "logs-max=0", "update-notifier=false", "fund=false", "audit=false"]
    if token:
        parts = urlsplit(registry if registry.endswith("/") else registry + "/")
        lines.append(f"//{parts.netloc}{parts.path}:_authToken={token}")
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write("\n".join(lines) + "\n")
        yield path
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def remove_stale_userconfigs() -> None:
    for folder in Path(tempfile.gettempdir()).glob(USERCONFIG_PREFIX + "*"):
        pid = folder.name[len(USERCONFIG_PREFIX) :].split("-", 1)[0]
        if pid.isdigit() and not process_alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)


def publish_package(config: BuildConfig, name: str, dry_run: bool = False, config_path: Path | None = None) -> dict:
    """Publish one package unless its version is already in the registry (then it is skipped, not failed)."""
    package = find_package(config, name)
    dry_run = dry_run or config.publishing.dry_run
    started = time.monotonic()

    def done(status: str, detail: str) -> dict:
        seconds = round(time.monotonic() - started, 2)
        return record_outcome(config.workspace_root, Outcome("publish", name, status, detail, seconds))

    def failed(message: str, reason: str = "") -> StepFailed:
        """The failure to raise, with the short reason the closing table shows (by default the first line)."""
        reason = reason or message.split("\n", 1)[0].removeprefix(f"publish of {name}: ").removesuffix(":")
        done("failed", reason[:300])
        return StepFailed(message, reason=reason)

    if package.private:
        return done("skipped", "private package")
    token = config.npm_token_value()
    registry = config.npm_registry
    toolchain = toolchain_for(config, package.directory, name)
    with npm_userconfig(registry, token) as userconfig:
        # The registry first: a version already there is skipped, whatever its manifest or working copy says.
        view = toolchain.run(
            "publish",
            [
                "npm",
                "view",
                f"{name}@{package.version}",
                "version",
                "--json",
                "--userconfig",
                str(userconfig),
                "--registry",
                registry,
            ],
        )
    output = redact(view.output, token)
    if view.ok and package.version in output:
        return done("skipped", f"{package.version} is already in {registry}")
    if "E404" not in output:
        raise failed(
            f"publish of {name}: cannot ask {registry} whether {package.version} exists "
            f"(exit {view.exit_code}):\n{output}",
            f"cannot ask the registry whether {package.version} exists: "
            + (npm_error(output) or f"exit {view.exit_code}"),
        )
    packer = _packer(toolchain)
    local = _workspace_protocol_ranges(package)
    if local and not packer:
        raise failed(
            f"publish of {name}: {', '.join(local)} use the workspace: protocol, which npm would publish "
            "verbatim; give them version ranges (or use pnpm or yarn 2+, which rewrite them when packing)"
        )
    if config.publishing.require_clean_working_directory:
        dirty = _uncommitted_files(config.workspace_root, package.directory)
        if dirty:
            raise failed(
                f"publish of {name}: {package.directory} has uncommitted changes ({', '.join(dirty[:5])}); "
                "commit them, or set publishing.requireCleanWorkingDirectory to false"
            )
    if not token and not dry_run:
        raise failed(
            f"publish of {name}: no npm token: set NPM_TOKEN, or npmToken in {config_path or 'configs/build-env.json'}"
        )
    with tempfile.TemporaryDirectory(prefix="package-builder-pack-") as packed:
        # pnpm and yarn berry pack (rewriting `workspace:` ranges) while no token is on disk; npm publishes that.
        tarball = [str(_pack(toolchain, packer, Path(packed), name, failed))] if packer else []
        with npm_userconfig(registry, token) as userconfig:
            common = ["--userconfig", str(userconfig), "--registry", registry]
            if token:  # a token the registry refuses fails here, before anything is published
                whoami = toolchain.run("publish", ["npm", "whoami", *common])
                if not whoami.ok:
                    refusal = redact(whoami.output, token)
                    raise failed(
                        f"publish of {name}@{package.version} to {registry} failed (exit "
                        f"{whoami.exit_code}) (the registry refused the token: npm whoami):\n{refusal}",
                        "the registry refused the token (npm whoami: "
                        + (npm_error(refusal) or f"exit {whoami.exit_code}")
                        + ")",
                    )
            # Lifecycle scripts stay off: build and test already ran, and a script could read the userconfig.
            command = [
                "npm",
                "publish",
                *tarball,
                *common,
                "--ignore-scripts",
                "--tag",
                config.publishing.tag,
                *(["--access", config.publishing.access] if config.publishing.access else []),
                *(["--dry-run"] if dry_run else []),
            ]
            result = toolchain.run("publish", command)
    output = redact(result.output, token)
    if not result.ok:
        refused = " (the registry refused the token)" if re.search(r"E401|E403|authenticat", output, re.I) else ""
        raise failed(
            f"publish of {name}@{package.version} to {registry} failed (exit {result.exit_code}){refused}:\n{output}",
            f"npm publish: {npm_error(output) or f'exit {result.exit_code}'}{refused}",
        )
    if dry_run:
        checked = "the token is accepted" if token else "no token given, so it was not checked"
        would = (
            f"would publish {package.version} with tag {config.publishing.tag}: {tarball_summary(output)}; {checked}"
        )
        say(f"publish {name}: {would}")  # in full here: the closing table may cut it to fit
        return done("skipped", f"dry run: {would}")
    return done("published", f"{package.version} with tag {config.publishing.tag}")


_NPM_ERROR = re.compile(r"^npm (?:error|ERR!) ?(.*)$", re.M)


def npm_error(output: str) -> str:
    """npm's own one-line account of a failure, the line after its `npm error code E413`: `413 Payload Too Large -
    PUT http://…/@scope%2fcore - request entity too large`; the code alone when no line follows it; "" if none."""
    lines = _NPM_ERROR.findall(output)
    for index, line in enumerate(lines):
        if line.startswith("code "):
            following = lines[index + 1].strip() if index + 1 < len(lines) else ""
            return following or line.removeprefix("code ")
    return ""


_TARBALL_FILE = re.compile(r"npm notice\s+([\d.]+\s*[kMG]?B)\s+(\S.*?)\s*$", re.M)
_TARBALL_FACT = re.compile(r"npm notice (package size|total files):\s*(.+?)\s*$", re.M)


def tarball_summary(output: str) -> str:
    """`3 files, 1.2 kB: dist/index.js, package.json, README.md` from npm's own dry-run notice."""
    facts = dict(_TARBALL_FACT.findall(output))
    files = [path for _, path in _TARBALL_FILE.findall(output)]
    count = facts.get("total files", str(len(files)) if files else "?")
    shown = ", ".join(files[:8]) + (", …" if len(files) > 8 else "")
    return f"{count} file(s), {facts.get('package size', 'size unknown')}" + (f": {shown}" if shown else "")


def _packer(toolchain) -> list[str] | None:
    """The workspace manager's own pack command, for managers that rewrite `workspace:` ranges when they pack."""
    if toolchain.manager == "pnpm":
        return ["pnpm", "pack", "--pack-destination"]
    if toolchain.yarn_berry:
        return ["yarn", "pack", "--out"]
    return None


def _pack(toolchain, packer: list[str], folder: Path, name: str, failed) -> Path:
    """The package's tarball, as its manager packs it, in `folder`."""
    target = folder if packer[0] == "pnpm" else folder / "package.tgz"
    result = toolchain.run("publish", [*packer, str(target)])
    tarballs = sorted(folder.glob("*.tgz"))
    if not result.ok or len(tarballs) != 1:
        raise failed(
            f"publish of {name}: `{' '.join(packer[:2])}` failed (exit {result.exit_code}):\n{result.output}",
            f"`{' '.join(packer[:2])}` failed (exit {result.exit_code})",
        )
    return tarballs[0]


def _workspace_protocol_ranges(package: WorkspacePackage) -> list[str]:
    manifest = json.loads((package.directory / "package.json").read_text(encoding="utf-8"))
    return sorted(
        name
        for section in DEPENDENCY_SECTIONS
        for name, spec in (manifest.get(section) or {}).items()
        if str(spec).startswith("workspace:")
    )


def _uncommitted_files(workspace_root: Path, directory: Path) -> list[str]:
    try:
        # --no-optional-locks: status never takes .git/index.lock to refresh the index, so it cannot fail the user's
        # own git command running meanwhile, nor leave a lock behind when killed (it needs no marker: see
        # generation/writer/git.py).
        done = subprocess.run(
            ["git", "--no-optional-locks", "status", "--porcelain", "--", str(directory)],
            cwd=workspace_root,
            capture_output=True,
            text=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise StepFailed(f"cannot check {directory} for uncommitted changes: {exc}") from None
    if done.returncode != 0:
        raise StepFailed(
            f"cannot check {directory} for uncommitted changes (is {workspace_root} a git repository?): "
            f"{done.stderr.strip()[:300]}"
        )
    return [line[3:] for line in done.stdout.splitlines() if line.strip()]
