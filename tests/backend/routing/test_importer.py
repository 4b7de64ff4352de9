"""Importing an extract: OSRM files, metadata, idempotence, the CLI."""

import json
import shutil
from pathlib import Path

import pytest

from backend.regions.importer import RegionImportError, import_region, region_name
from backend.regions.metadata import list_regions, osrm_file, read_info
from tests.backend.routing.conftest import MONACO_PBF
from tests.backend.test_cli import run_cli


def test_the_imported_region_has_its_files_and_metadata(monaco_dir: Path) -> None:
    assert Path(f"{osrm_file(monaco_dir)}.hsgr").exists()  # contracted (CH)
    info = read_info(monaco_dir)
    assert info is not None
    assert info.name == "monaco"
    assert info.source_sha256 == "36c0f0029ed838897322382611b67e8e5e7bcb07d5b17a25f3574dec54f1c23c"
    assert info.bbox == (43.71, 7.349, 43.77, 7.491)
    assert info.attribution == "© OpenStreetMap contributors"
    assert info.algorithm == "CH"
    raw = json.loads((monaco_dir / "region.json").read_text())
    assert raw["created_at"].endswith("+00:00")
    assert [r.name for r in list_regions(monaco_dir.parent)] == ["monaco"]


def test_importing_the_same_file_again_does_nothing(monaco_dir: Path) -> None:
    before = (monaco_dir / "region.json").stat().st_mtime_ns
    assert import_region(MONACO_PBF, monaco_dir.parent) == monaco_dir
    assert (monaco_dir / "region.json").stat().st_mtime_ns == before


def test_bad_input_is_refused_cleanly(tmp_path: Path) -> None:
    with pytest.raises(RegionImportError, match="no such file"):
        import_region(tmp_path / "missing.osm.pbf", tmp_path / "regions")
    junk = tmp_path / "junk.osm.pbf"
    junk.write_bytes(b"not a pbf")
    with pytest.raises(RegionImportError):
        import_region(junk, tmp_path / "regions")
    leftovers = list((tmp_path / "regions").iterdir()) if (tmp_path / "regions").exists() else []
    assert leftovers == []


def test_region_name_comes_from_the_file_name() -> None:
    assert region_name(Path("monaco.osm.pbf")) == "monaco"
    assert region_name(Path("/x/liechtenstein-latest.osm.pbf")) == "liechtenstein-latest"


def test_cli_imports_and_lists(tmp_path: Path, monaco_dir: Path) -> None:
    # Reuse the session's import: copy it in place under a second name via the CLI check.
    shutil.copytree(monaco_dir, tmp_path / "regions" / "monaco")
    listed = run_cli(tmp_path, "region", "list")
    assert listed.returncode == 0, listed.stderr
    assert "monaco (loaded at start)" in listed.stdout
    again = run_cli(tmp_path, "region", "import", str(MONACO_PBF))
    assert again.returncode == 0, again.stderr
    assert "region 'monaco' ready" in again.stdout
    missing = run_cli(tmp_path, "region", "import", str(tmp_path / "nope.osm.pbf"))
    assert missing.returncode == 1
    assert "no such file" in missing.stdout
