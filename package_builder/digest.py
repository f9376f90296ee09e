"""Stable digests of inputs and outputs: canonical JSON hashed with SHA-256."""
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
