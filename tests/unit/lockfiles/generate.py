"""Writes the small real lockfiles the slicer's unit tests read (tests/unit/test_lockfile_slices.py), with the real
npm, pnpm (9, and 8 for the v6 format), yarn classic and yarn berry against the test registry (Verdaccio).

Run it by hand when a format changes: `python tests/unit/lockfiles/generate.py [path to a pnpm 8 binary]`. Each
`<manager>-<state>/` folder holds a workspace's manifests and the lockfile its manager wrote:

    @ws/a → @fx/mid ^1 → @fx/leaf ^1        @ws/b → @fx/leaf ^2        @ws/c → @ws/a (a workspace sibling)

- `before`: as above; npm hoists one @fx/leaf and nests the other.
- `added`: `<manager> add tiny` in @ws/c (the user's new dependency).
- `transitive`: @fx/leaf 1.0.1 published and the lockfile resolved again: only @ws/a's tree changes.
- `rootdep`: the root gains a devDependency (`tiny`): every package's resolved dependencies change.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
TESTS = HERE.parent.parent
sys.path.insert(0, str(TESTS))

from monorepo import MANAGERS, YARN_BERRY  # noqa: E402
from npm_registry import NpmRegistry  # noqa: E402

TOOLS_BIN = TESTS / "tools" / "node_modules" / ".bin"
LOCKFILE = {"npm": "package-lock.json", "pnpm": "pnpm-lock.yaml", "pnpm8": "pnpm-lock.yaml"}


def publish(
    registry: NpmRegistry, folder: Path, token: str, name: str, version: str, deps: dict, tag: str = ""
) -> None:
    """`name@version` in the registry; a backport goes out under its own `tag`, leaving `latest` where it is."""
    package = folder / f"{name.replace('/', '+')}-{version}"
    package.mkdir(parents=True)
    manifest = {"name": name, "version": version, "main": "index.js", "dependencies": deps}
    (package / "package.json").write_text(json.dumps(manifest))
    (package / "index.js").write_text(f"module.exports = {json.dumps(name + '@' + version)};\n")
    npmrc = package / ".npmrc"
    host = registry.url.removeprefix("http:")
    npmrc.write_text(f"registry={registry.url}\n{host}:_authToken={token}\n")
    command = ["npm", "publish", *(["--tag", tag] if tag else []), "--userconfig", str(npmrc)]
    done = subprocess.run(command, cwd=package, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"npm publish {name}@{version} failed:\n{done.stderr}")


def workspace(root: Path, manager: str, registry: NpmRegistry) -> None:
    linked = manager in ("pnpm", "pnpm8", "yarn-berry")
    root.mkdir(parents=True)
    manifest: dict = {"name": "lockfixture", "private": True}
    if manager in ("pnpm", "pnpm8"):
        (root / "pnpm-workspace.yaml").write_text("packages:\n  - 'packages/*'\n")
    else:
        manifest["workspaces"] = ["packages/*"]
    if manager in ("yarn", "yarn-berry"):
        manifest["packageManager"] = MANAGERS[manager]
    if manager == "yarn-berry":
        (root / ".yarnrc.yml").write_text(
            f"yarnPath: {YARN_BERRY}\nnodeLinker: node-modules\nenableTelemetry: false\n"
            f'npmRegistryServer: "{registry.url.rstrip("/")}"\nunsafeHttpWhitelist: ["127.0.0.1"]\n'
        )
    (root / "package.json").write_text(json.dumps(manifest, indent=2) + "\n")
    (root / ".npmrc").write_text(f"registry={registry.url}\n")
    packages = {
        "a": {"@fx/mid": "^1.0.0"},
        "b": {"@fx/leaf": "^2.0.0"},
        "c": {"@ws/a": "workspace:^1.0.0" if linked else "^1.0.0"},
    }
    for short, deps in packages.items():
        (root / "packages" / short).mkdir(parents=True)
        body = {"name": f"@ws/{short}", "version": "1.0.0", "dependencies": deps}
        (root / "packages" / short / "package.json").write_text(json.dumps(body, indent=2) + "\n")


def run(root: Path, manager: str, *args: str, pnpm8: str | None = None) -> None:
    command = {
        "npm": ["npm"],
        "pnpm": [str(TOOLS_BIN / "pnpm")],
        "pnpm8": [pnpm8 or "pnpm"],
        "yarn": [str(TOOLS_BIN / "yarn")],
        "yarn-berry": ["node", str(YARN_BERRY)],
    }[manager]
    cache = root.parent / f"cache-{root.name}"  # each workspace its own: a cached packument would hide leaf 1.0.1
    env = {
        **os.environ,
        "CI": "",
        "YARN_ENABLE_IMMUTABLE_INSTALLS": "false",
        "npm_config_audit": "false",
        "npm_config_cache": str(cache / "npm"),
        "npm_config_cache_dir": str(cache / "pnpm"),
        "npm_config_store_dir": str(cache / "store"),
        "YARN_CACHE_FOLDER": str(cache / "yarn"),
    }
    done = subprocess.run([*command, *args], cwd=root, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{manager} {' '.join(args)} failed in {root}:\n{done.stdout}\n{done.stderr}")


def install(root: Path, manager: str, pnpm8: str | None) -> None:
    run(root, manager, "install", pnpm8=pnpm8)


def add(root: Path, manager: str, spec: str, where: str | None, pnpm8: str | None) -> None:
    """`spec` added the way each manager's users do it: in a package (`where`), or at the root as a devDependency."""
    if manager == "npm":
        args = ["install", spec, *(["-w", where] if where else ["-D"])]
    elif manager in ("pnpm", "pnpm8"):
        args = ["add", spec, *(["--filter", where] if where else ["-D", "-w"])]
    elif manager == "yarn":
        args = ["workspace", where, "add", spec] if where else ["add", "-D", "-W", spec]
    else:
        args = ["workspace", where, "add", spec] if where else ["add", "-D", spec]
    run(root, manager, *args, pnpm8=pnpm8)


def keep(root: Path, manager: str, target: Path) -> None:
    """The workspace's manifests and lockfile, nothing installed."""
    if target.exists():
        shutil.rmtree(target)
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if "node_modules" in relative.parts or relative.parts[0] in (".yarn",) or not path.is_file():
            continue
        if path.name in ("package.json", "pnpm-workspace.yaml", "package-lock.json", "pnpm-lock.yaml", "yarn.lock"):
            (target / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, target / relative)


def main() -> None:
    pnpm8 = sys.argv[1] if len(sys.argv) > 1 else None
    managers = ["npm", "pnpm", "yarn", "yarn-berry", *(["pnpm8"] if pnpm8 else [])]
    os.environ["PATH"] = f"{TOOLS_BIN}{os.pathsep}{os.environ['PATH']}"
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        registry = NpmRegistry(folder / "registry")
        (folder / "registry").mkdir()
        registry.start()
        try:
            token = registry.add_user("lockfixture")
            publish(registry, folder / "published", token, "@fx/leaf", "1.0.0", {})
            publish(registry, folder / "published", token, "@fx/leaf", "2.0.0", {})
            publish(registry, folder / "published", token, "@fx/mid", "1.0.0", {"@fx/leaf": "^1.0.0"})
            publish(registry, folder / "published", token, "tiny", "1.0.0", {})
            for manager in managers:
                root = folder / manager
                workspace(root, manager, registry)
                install(root, manager, pnpm8)
                keep(root, manager, HERE / f"{manager}-before")
                add(root, manager, "tiny@^1.0.0", "@ws/c", pnpm8)
                keep(root, manager, HERE / f"{manager}-added")
            publish(registry, folder / "published", token, "@fx/leaf", "1.0.1", {}, tag="backport")
            for manager in managers:
                root = folder / f"{manager}-again"
                workspace(root, manager, registry)
                install(root, manager, pnpm8)
                keep(root, manager, HERE / f"{manager}-transitive")
                add(root, manager, "tiny@^1.0.0", None, pnpm8)
                keep(root, manager, HERE / f"{manager}-rootdep")
        finally:
            registry.stop()


if __name__ == "__main__":
    main()
