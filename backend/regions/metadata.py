"""What an imported region is: ``regions_dir/NAME/region.json`` and the OSRM files beside it.

Pure file reading (no osmium, no osrm), so the routing factory and ``lastmile region list``
can use it cheaply. ``bbox`` in WGS84 degrees.
"""

import json
from dataclasses import dataclass
from pathlib import Path

from shared.geo import BBox

METADATA_FILE = "region.json"
ATTRIBUTION = "© OpenStreetMap contributors"
LICENSE = "ODbL-1.0, https://www.openstreetmap.org/copyright"


@dataclass(frozen=True, slots=True)
class RegionInfo:
    """What ``region.json`` holds. ``bbox`` in WGS84 degrees."""

    name: str
    bbox: BBox
    source_file: str
    source_sha256: str
    source_bytes: int
    created_at: str  # ISO 8601, UTC
    profile: str
    algorithm: str
    attribution: str = ATTRIBUTION
    license: str = LICENSE

    @property
    def osrm_name(self) -> str:
        return f"{self.name}.osrm"


def read_info(region_dir: Path) -> RegionInfo | None:
    """The metadata of a completely imported region, or None."""
    try:
        raw = json.loads((region_dir / METADATA_FILE).read_text())
        raw["bbox"] = BBox(*raw["bbox"])
        return RegionInfo(**raw)
    except (OSError, ValueError, TypeError, KeyError):
        return None


def list_regions(regions_dir: Path) -> list[RegionInfo]:
    """Every completely imported region, by name."""
    if not regions_dir.is_dir():
        return []
    found = (read_info(d) for d in sorted(regions_dir.iterdir()) if d.is_dir())
    return [info for info in found if info is not None]


def osrm_file(region_dir: Path) -> Path:
    """The base path the OSRM engines load (``REGION_DIR/NAME.osrm``)."""
    return region_dir / f"{region_dir.name}.osrm"
