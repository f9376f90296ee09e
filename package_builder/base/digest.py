"""Stable digests of inputs and outputs (canonical JSON hashed with SHA-256), and what changed between two sets of
them."""

from __future__ import annotations

import hashlib
import json


def digest_of(value: object) -> str:
    """`sha256:<hex>` of `value` as canonical JSON (sorted keys, no whitespace)."""
    encoded = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return "sha256:" + hashlib.sha256(encoded).hexdigest()


def digest_text(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def digest_bytes(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def changed_entries(before: dict, now: dict) -> list[tuple[str, str]]:
    """`(key, "added" | "removed" | "changed")` for every key whose digest differs, sorted: the one comparison
    behind every "runs again" line, for phases (templates, upstream outputs) and workspace steps (files, stamps)."""
    return [
        (key, "added" if key not in before else "removed" if key not in now else "changed")
        for key in sorted(before.keys() | now.keys())
        if before.get(key) != now.get(key)
    ]
