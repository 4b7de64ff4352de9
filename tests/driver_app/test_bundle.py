"""The directory ``flet build apk/ipa`` packages: the driver app alone, against our server.

The build itself downloads Flutter and the SDKs (not possible here, nor in CI); this checks
what we hand it: the app imports from the bundle alone, without the backend or a web server,
and the phone is asked for location and camera.
"""

import subprocess
import sys
import tomllib
from pathlib import Path

from driver_app.bundle import ROOT, write_bundle

CHECK = """
import sys
from pathlib import Path
root = Path({root!r}).resolve()
sys.path = ["."] + [p for p in sys.path if p and Path(p).resolve() != root]
import main
import driver_app
assert Path(driver_app.__file__).resolve().is_relative_to(Path.cwd().resolve()), driver_app.__file__
assert main.API_URL == "https://lastmile.example.com", main.API_URL
state_factory = main.build(main.API_URL)
assert callable(state_factory)
print(sorted(m for m in ("backend", "uvicorn", "sqlalchemy", "fastapi") if m in sys.modules))
"""


def test_the_bundle_runs_the_app_without_the_backend(tmp_path: Path) -> None:
    out = tmp_path / "phone"
    write_bundle(out, "https://lastmile.example.com/")

    result = subprocess.run(
        [sys.executable, "-c", CHECK.format(root=str(ROOT))],
        cwd=out,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"  # nothing of the server came along

    project = tomllib.loads((out / "pyproject.toml").read_text())
    assert "flet-geolocator==1.0.5" in project["project"]["dependencies"]
    android = project["tool"]["flet"]["android"]["permission"]
    assert android["android.permission.ACCESS_FINE_LOCATION"] is True
    assert android["android.permission.CAMERA"] is True
    assert "NSLocationWhenInUseUsageDescription" in project["tool"]["flet"]["ios"]["info"]
    assert not (out / "backend").exists()
