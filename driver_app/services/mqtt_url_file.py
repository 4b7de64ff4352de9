"""The driver's own MQTT setting, kept beside their offline queue.

One small file per server and driver (``queue-<server>-driver-<id>.mqtt``), readable only by
the app's user (it holds the broker password), written whole or not at all.
"""

import asyncio
import contextlib
import os
from pathlib import Path


class MqttUrlFile:
    def __init__(self, path: Path) -> None:
        self.path = path

    async def load(self) -> str | None:
        """The saved URL, None when the driver saved none."""
        return await asyncio.to_thread(self._load)

    async def save(self, url: str) -> None:
        await asyncio.to_thread(self._save, url)

    async def clear(self) -> None:
        await asyncio.to_thread(self._clear)

    def _load(self) -> str | None:
        try:
            return self.path.read_text(encoding="utf-8").strip() or None
        except FileNotFoundError:
            return None

    def _save(self, url: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_name(self.path.name + ".partial")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(url + "\n")
            out.flush()
            os.fsync(out.fileno())
        os.replace(partial, self.path)

    def _clear(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
