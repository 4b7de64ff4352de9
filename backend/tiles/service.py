"""TileService: the configured region's tiles, rendered once and then served from disk.

* The feature index is loaded lazily, once, on the first tile request (off the event loop).
* Rendering runs in a worker thread (``asyncio.to_thread``), at most ``os.cpu_count()`` at a
  time; concurrent requests for the same cold tile share one render.
* Rendered tiles are cached at ``tiles_cache_dir/REGION/z/x/y.png``, written atomically
  (temporary file + ``os.replace``). A stamp file records which index build and style drew
  them; when either changes (a re-import, a new style) the old cache is dropped at load.
* A tile's ETag is derived from the index build, the style version and ``z/x/y``, so a
  revalidation (``If-None-Match``) is answered without touching the disk.
"""

import asyncio
import contextlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from backend.config import Settings
from backend.errors import AppError, NotFoundError
from backend.tiles.index import TileIndex, index_path, load_index
from backend.tiles.projection import MAX_ZOOM, boxes_intersect, is_valid_tile, tile_world_bounds
from backend.tiles.render import STYLE_VERSION, background_png, render_tile

_STAMP_FILE = ".stamp"


class TilesUnavailableError(AppError):
    """The configured region has no tile index: it was never imported."""

    status_code = 503
    code = "region_not_imported"


@dataclass(frozen=True, slots=True)
class Tile:
    """One tile's PNG bytes, its ETag (quoted) and whether it came from the disk cache."""

    png: bytes
    etag: str
    cached: bool


TileKey = tuple[int, int, int]


class TileService:
    """Tiles of one region; share one instance per process (it holds the in-flight renders)."""

    def __init__(self, region: str, region_dir: Path, cache_dir: Path) -> None:
        self.region = region
        self.region_dir = region_dir
        self.cache_dir = cache_dir
        self._index: TileIndex | None = None
        self._load_lock = asyncio.Lock()
        self._rendering: dict[TileKey, asyncio.Task[bytes]] = {}
        self._render_slots = asyncio.Semaphore(os.cpu_count() or 1)

    @classmethod
    def from_settings(cls, settings: Settings) -> "TileService":
        return cls(
            settings.region,
            settings.regions_dir / settings.region,
            settings.tiles_cache_dir / settings.region,
        )

    # --- public -------------------------------------------------------------------------

    async def etag(self, z: int, x: int, y: int) -> str:
        """The ETag tile ``z/x/y`` will carry (loads the index if needed)."""
        self.check(z, x, y)
        index = await self.index()
        return f'"{index.built_at:x}-{STYLE_VERSION}-{z}-{x}-{y}"'

    async def tile(self, z: int, x: int, y: int) -> Tile:
        """Tile ``z/x/y``: from the disk cache, or rendered (once) and stored there.

        Raises NotFoundError for numbers that name no tile and TilesUnavailableError when the
        region was never imported.
        """
        etag = await self.etag(z, x, y)
        index = await self.index()
        if not boxes_intersect(tile_world_bounds(z, x, y), index.region_box):
            return Tile(background_png(), etag, cached=True)
        path = self.tile_path(z, x, y)
        cached = await asyncio.to_thread(_read_if_exists, path)
        if cached is not None:
            return Tile(cached, etag, cached=True)
        key = (z, x, y)
        task = self._rendering.get(key)
        if task is None:
            task = asyncio.create_task(self._render_and_store(index, key, path))
            self._rendering[key] = task
            task.add_done_callback(lambda _: self._rendering.pop(key, None))
        # shield: a client that hangs up does not cancel the render others wait for
        return Tile(await asyncio.shield(task), etag, cached=False)

    def tile_path(self, z: int, x: int, y: int) -> Path:
        return self.cache_dir / str(z) / str(x) / f"{y}.png"

    @staticmethod
    def check(z: int, x: int, y: int) -> None:
        if not is_valid_tile(z, x, y):
            raise NotFoundError(
                f"no tile {z}/{x}/{y}: zoom must be 0-{MAX_ZOOM} and x, y in 0-2^zoom-1",
                details={"z": z, "x": x, "y": y},
            )

    async def index(self) -> TileIndex:
        """The region's feature index, loaded on first use."""
        if self._index is not None:
            return self._index
        async with self._load_lock:
            if self._index is None:
                self._index = await asyncio.to_thread(self._load)
        return self._index

    # --- internals ----------------------------------------------------------------------

    def _load(self) -> TileIndex:
        try:
            index = load_index(self.region_dir)
        except FileNotFoundError:
            raise TilesUnavailableError(
                f"region '{self.region}' has no map data: run `lastmile region import "
                f"FILE.osm.pbf` (expected {index_path(self.region_dir)})",
                details={"region": self.region},
            ) from None
        _reset_cache_if_stale(self.cache_dir, f"{index.built_at}-{STYLE_VERSION}")
        return index

    async def _render_and_store(self, index: TileIndex, key: TileKey, path: Path) -> bytes:
        async with self._render_slots:
            return await asyncio.to_thread(_render_and_write, index, key, path)


def _read_if_exists(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def _render_and_write(index: TileIndex, key: TileKey, path: Path) -> bytes:
    png = render_tile(index, *key)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(png)
        os.chmod(tmp_name, 0o644)
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return png


def _reset_cache_if_stale(cache_dir: Path, stamp: str) -> None:
    """Drop cached tiles drawn from another index build or style, then write the stamp."""
    stamp_path = cache_dir / _STAMP_FILE
    with contextlib.suppress(FileNotFoundError):
        if stamp_path.read_text() == stamp:
            return
    if cache_dir.exists():
        # rename first: a concurrent reader never sees a half-deleted cache
        doomed = cache_dir.with_name(f".{cache_dir.name}-stale-{os.getpid()}")
        os.replace(cache_dir, doomed)
        shutil.rmtree(doomed, ignore_errors=True)
    cache_dir.mkdir(parents=True, exist_ok=True)
    stamp_path.write_text(stamp)
