"""TileService without HTTP: one render for many concurrent requests, stale caches dropped."""

import asyncio
from pathlib import Path

import pytest

from backend.tiles import service as service_module
from backend.tiles.index import TileIndex, build_index
from backend.tiles.projection import lnglat_to_tile
from backend.tiles.render import render_tile
from backend.tiles.service import TileService
from tests.backend.tiles.conftest import MONACO_PBF


def make_service(tiles_data_dir: Path, cache_dir: Path) -> TileService:
    return TileService("monaco", tiles_data_dir / "regions" / "monaco", cache_dir)


async def test_concurrent_requests_for_one_cold_tile_render_it_once(
    tiles_data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[int, int, int]] = []

    def counting(index: TileIndex, z: int, x: int, y: int) -> bytes:
        calls.append((z, x, y))
        return render_tile(index, z, x, y)

    monkeypatch.setattr(service_module, "render_tile", counting)
    tiles = make_service(tiles_data_dir, tmp_path / "cache")
    x, y = lnglat_to_tile(7.4246, 43.7384, 15)
    results = await asyncio.gather(*(tiles.tile(15, x, y) for _ in range(8)))
    assert calls == [(15, x, y)]
    assert len({r.png for r in results}) == 1
    assert not any(r.cached for r in results)
    assert (await tiles.tile(15, x, y)).cached


async def test_a_new_import_drops_the_old_cache(tmp_path: Path) -> None:
    region_dir = tmp_path / "regions" / "monaco"
    build_index(MONACO_PBF, region_dir)
    cache_dir = tmp_path / "cache"
    stale = cache_dir / "15" / "1" / "1.png"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"drawn from an older index")
    tiles = TileService("monaco", region_dir, cache_dir)
    await tiles.index()
    assert not stale.exists()
    assert (cache_dir / ".stamp").exists()
