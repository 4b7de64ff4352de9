"""Tamper evidence for proofs: SHA-256 of every stored file and of the proof's metadata,
sealed into one digest recorded on the delivery event and recomputed on demand. Pure."""

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def canonical(meta: Mapping[str, Any]) -> bytes:
    """One byte string per metadata dict, whatever the key order (RFC 8785-like)."""
    return json.dumps(meta, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass(frozen=True, slots=True)
class Seal:
    files: dict[str, str]  # file name -> SHA-256 of its stored bytes
    metadata: str  # SHA-256 of the canonical metadata
    digest: str  # SHA-256 over both: the one value to record and compare

    def as_dict(self) -> dict[str, Any]:
        return {
            "files": dict(sorted(self.files.items())),
            "metadata": self.metadata,
            "digest": self.digest,
        }


def seal(files: Mapping[str, bytes], meta: Mapping[str, Any]) -> Seal:
    hashes = {name: sha256(data) for name, data in files.items()}
    meta_hash = sha256(canonical(meta))
    joined = "\n".join([meta_hash, *(f"{n}:{h}" for n, h in sorted(hashes.items()))])
    return Seal(hashes, meta_hash, sha256(joined.encode()))


def verify(recorded: Seal, files: Mapping[str, bytes], meta: Mapping[str, Any]) -> list[str]:
    """What no longer matches the recorded seal (empty: intact)."""
    now = seal(files, meta)
    problems = [
        f"{name}: stored bytes changed"
        for name, value in recorded.files.items()
        if now.files.get(name) != value
    ]
    problems += [
        f"{name}: not in the recorded proof" for name in now.files.keys() - recorded.files.keys()
    ]
    if now.metadata != recorded.metadata:
        problems.append("metadata changed")
    return problems
