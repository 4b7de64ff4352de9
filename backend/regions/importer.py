"""Prepare an OpenStreetMap extract once: OSRM (car profile, contraction hierarchies) + tiles.

``import_region(pbf, regions_dir)`` writes ``regions_dir/NAME/``::

    NAME.osrm.*      osrm-extract + osrm-contract output, loaded by the routing engines
    region.json      metadata, written last: its presence means the import is complete
    (tile index)     whatever ``backend.tiles.index.build_index`` writes

The OSRM steps run the wheel's own binaries (``python -m osrm extract|contract``) in a
scratch directory that replaces the region directory only when they succeeded, so a failed
import never leaves a half-prepared region behind. Importing the same file again (same
SHA-256) does nothing.
"""

import hashlib
import importlib.util
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

import osmium

from backend.regions.metadata import METADATA_FILE, RegionInfo, read_info
from shared.geo import BBox

log = logging.getLogger(__name__)

OSRM_STEP_TIMEOUT_S = 3600


class RegionImportError(Exception):
    """An extract could not be prepared (unreadable file, an OSRM step failed)."""


def region_name(pbf: Path) -> str:
    """``monaco`` for ``monaco.osm.pbf`` or ``monaco-latest.osm.pbf`` → ``monaco-latest``."""
    name = pbf.name
    for suffix in (".osm.pbf", ".pbf", ".osm"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return pbf.stem


def _osrm_package_dir() -> Path:
    # Located, not imported: only backend.routing.osrm_embedded imports `osrm`.
    spec = importlib.util.find_spec("osrm")
    if spec is None or spec.origin is None:
        raise RegionImportError("the osrm-bindings package is not installed")
    return Path(spec.origin).parent


def osrm_binary(name: str) -> Path:
    """One of the wheel's executables (``osrm-routed``, ``osrm-extract``...)."""
    path = _osrm_package_dir() / "bin" / name
    if not path.is_file():
        raise RegionImportError(f"no {name} in the osrm-bindings wheel at {path}")
    return path


def car_profile() -> Path:
    """The car profile shipped in the osrm-bindings wheel (``osrm/share/profiles/car.lua``)."""
    profile = _osrm_package_dir() / "share" / "profiles" / "car.lua"
    if not profile.exists():
        raise RegionImportError(f"no car profile in the osrm-bindings wheel at {profile}")
    return profile


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _bbox(pbf: Path) -> BBox:
    """The header's bounding box, or the nodes' one when the header has none."""
    try:
        reader = osmium.io.Reader(str(pbf), osmium.osm.osm_entity_bits.NOTHING)
        box = reader.header().box()
        reader.close()
    except RuntimeError as exc:
        raise RegionImportError(f"{pbf} is not a readable OSM file: {exc}") from exc
    if box.valid():
        return BBox(box.bottom_left.lat, box.bottom_left.lon, box.top_right.lat, box.top_right.lon)
    lats: list[float] = []
    lngs: list[float] = []
    for node in osmium.FileProcessor(str(pbf), osmium.osm.NODE):
        if isinstance(node, osmium.osm.Node):
            lats.append(node.location.lat)
            lngs.append(node.location.lon)
    if not lats:
        raise RegionImportError(f"{pbf} holds no nodes")
    return BBox(min(lats), min(lngs), max(lats), max(lngs))


def _osrm(step: str, *args: str, cwd: Path) -> None:
    command = [sys.executable, "-m", "osrm", step, *args]
    log.info("running %s", " ".join(command))
    done = subprocess.run(
        command, cwd=cwd, capture_output=True, text=True, timeout=OSRM_STEP_TIMEOUT_S, check=False
    )
    if done.returncode != 0:
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-10:])
        raise RegionImportError(f"osrm-{step} failed (exit {done.returncode}):\n{tail}")


def _build_tile_index(pbf: Path, region_dir: Path) -> None:
    from backend.tiles.index import build_index

    build_index(pbf, region_dir)


def import_region(pbf: Path, regions_dir: Path, name: str | None = None) -> Path:
    """Prepare ``pbf`` into ``regions_dir/NAME/`` and return that directory.

    Idempotent: returns at once when a region of that name was imported from a file with
    the same SHA-256. Blocking (Monaco: about a second; a country: minutes).
    """
    pbf = pbf.resolve()
    if not pbf.is_file():
        raise RegionImportError(f"no such file: {pbf}")
    name = name or region_name(pbf)
    if not name or "/" in name or name.startswith("."):
        raise RegionImportError(f"unusable region name {name!r}")
    region_dir = regions_dir / name
    sha256 = _sha256(pbf)
    existing = read_info(region_dir)
    if existing is not None and existing.source_sha256 == sha256:
        log.info("region %s is already imported from this file", name)
        return region_dir

    bbox = _bbox(pbf)
    regions_dir.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=regions_dir))
    try:
        os.symlink(pbf, scratch / f"{name}.osm.pbf")
        profile = car_profile()
        _osrm("extract", "-p", str(profile), f"{name}.osm.pbf", cwd=scratch)
        _osrm("contract", f"{name}.osrm", cwd=scratch)
        (scratch / f"{name}.osm.pbf").unlink()
        if region_dir.exists():
            shutil.rmtree(region_dir)
        scratch.rename(region_dir)
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    _build_tile_index(pbf, region_dir)
    info = RegionInfo(
        name=name,
        bbox=bbox,
        source_file=pbf.name,
        source_sha256=sha256,
        source_bytes=pbf.stat().st_size,
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        profile=profile.name,
        algorithm="CH",
    )
    body = asdict(info)
    body["bbox"] = list(info.bbox)
    (region_dir / METADATA_FILE).write_text(json.dumps(body, indent=2, ensure_ascii=False) + "\n")
    return region_dir
