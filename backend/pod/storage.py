"""Where proof files live, behind one interface: local files by default, or any
S3-compatible bucket (:mod:`backend.pod.s3_store`) when several workers or machines must
see the same proofs. Keys are relative paths we generate."""

import errno
import os
import re
import tempfile
import threading
import time
from pathlib import Path
from typing import Protocol

from backend.errors import InsufficientStorageError

# The filesystem says there is no room: full disk, user quota, file size limit.
_FULL = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})
RECOUNT_S = 60.0  # the quota's view of the store is counted again this often (seconds)
MB = 1024 * 1024

_KEY = re.compile(r"^[A-Za-z0-9_-]+(/[A-Za-z0-9_.-]+)*$")


class ProofStore(Protocol):
    """``put`` stores the whole object or nothing; ``get`` raises ``FileNotFoundError``
    for a key that is not there; ``delete`` of a missing key is no error. A store that
    cannot be reached raises :class:`backend.errors.UnavailableError`; one that is full
    :class:`backend.errors.InsufficientStorageError`."""

    def put(self, key: str, data: bytes) -> None: ...
    def get(self, key: str) -> bytes: ...
    def delete(self, key: str) -> None: ...


def checked_key(key: str) -> str:
    if not _KEY.match(key) or ".." in key.split("/"):
        raise ValueError(f"not a proof key: {key!r}")
    return key


class LocalProofStore:
    """Files under ``root``; a write is atomic (temporary file, fsync, rename): a crash
    leaves the old file or the new one, never half of one.

    ``quota_bytes``: the most the store may hold; a ``put`` past it is refused before
    anything is written. What the store holds is counted by walking ``root`` at the first
    ``put`` and every ``RECOUNT_S`` (other workers write there too), and kept up to date
    between counts. Whether or not there is a quota, a filesystem that runs out of room
    (``ENOSPC``, ``EDQUOT``, ``EFBIG``) is the same refusal; the temporary file goes."""

    def __init__(self, root: Path, quota_bytes: int | None = None) -> None:
        self.root = root
        self.quota_bytes = quota_bytes
        self._lock = threading.Lock()  # puts run in worker threads
        self._used_bytes = 0
        self._counted_at: float | None = None  # monotonic

    def _path(self, key: str) -> Path:
        return self.root / checked_key(key)

    def put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        self._reserve(len(data))
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        except OSError as exc:
            self._release(len(data))
            raise _full_or(exc) from exc
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException as exc:
            Path(tmp).unlink(missing_ok=True)
            self._release(len(data))
            if isinstance(exc, OSError):
                raise _full_or(exc) from exc
            raise

    def get(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def delete(self, key: str) -> None:
        path = self._path(key)
        try:
            size = path.stat().st_size
            path.unlink()
        except FileNotFoundError:
            return
        self._release(size)

    def _reserve(self, size: int) -> None:
        """Count ``size`` more bytes as held, or refuse them when past the quota."""
        if self.quota_bytes is None:
            return
        with self._lock:
            now = time.monotonic()
            if self._counted_at is None or now - self._counted_at > RECOUNT_S:
                self._used_bytes = _bytes_under(self.root)
                self._counted_at = now
            if self._used_bytes + size > self.quota_bytes:
                raise InsufficientStorageError(
                    f"The proof-of-delivery store is full ({self._used_bytes / MB:.1f} MB of "
                    f"its {self.quota_bytes / MB:.1f} MB quota used): this proof was not "
                    "recorded. Free space, or raise LASTMILE_POD_QUOTA_MB, then send it again.",
                    details={
                        "used_bytes": self._used_bytes,
                        "quota_bytes": self.quota_bytes,
                        "needed_bytes": size,
                    },
                )
            self._used_bytes += size

    def _release(self, size: int) -> None:
        if self.quota_bytes is not None:
            with self._lock:
                self._used_bytes = max(0, self._used_bytes - size)


def _full_or(exc: OSError) -> Exception:
    """The store's refusal for a filesystem without room; any other error as it is."""
    if exc.errno not in _FULL:
        return exc
    return InsufficientStorageError(
        "The proof-of-delivery store is out of disk space: this proof was not recorded. "
        "Free space on the server, then send it again.",
        details={"reason": errno.errorcode.get(exc.errno or 0, str(exc.errno))},
    )


def _bytes_under(root: Path) -> int:
    """Bytes of every file under ``root`` (0 when it does not exist yet)."""
    total = 0
    for directory, _, names in os.walk(root):
        for name in names:
            try:
                total += os.stat(os.path.join(directory, name)).st_size
            except FileNotFoundError:  # deleted by another worker meanwhile
                continue
    return total
