"""Where proof files live, behind one interface: local files by default, or any
S3-compatible bucket (:mod:`backend.pod.s3_store`) when several workers or machines must
see the same proofs. Keys are relative paths we generate."""

import os
import re
import tempfile
from pathlib import Path
from typing import Protocol

_KEY = re.compile(r"^[A-Za-z0-9_-]+(/[A-Za-z0-9_.-]+)*$")


class ProofStore(Protocol):
    """``put`` stores the whole object or nothing; ``get`` raises ``FileNotFoundError``
    for a key that is not there; ``delete`` of a missing key is no error. A store that
    cannot be reached raises :class:`backend.errors.UnavailableError`."""

    def put(self, key: str, data: bytes) -> None: ...
    def get(self, key: str) -> bytes: ...
    def delete(self, key: str) -> None: ...


def checked_key(key: str) -> str:
    if not _KEY.match(key) or ".." in key.split("/"):
        raise ValueError(f"not a proof key: {key!r}")
    return key


class LocalProofStore:
    """Files under ``root``; a write is atomic (temporary file, fsync, rename): a crash
    leaves the old file or the new one, never half of one."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        return self.root / checked_key(key)

    def put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def get(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)
