"""``lastmile demo``: seed, start the backend and both Flet apps, print where they are."""

import asyncio
import os
import socket
import subprocess
import sys
from pathlib import Path

from rich.console import Console

from backend.config import Settings


def port_is_free(host: str, port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def free_port(host: str, preferred: int) -> int:
    """``preferred`` if it is free on ``host``, otherwise one the OS picks."""
    for candidate in (preferred, 0):
        with socket.socket() as sock:
            try:
                sock.bind((host, candidate))
            except OSError:
                continue
            port: int = sock.getsockname()[1]
            return port
    raise OSError(f"no free port on {host}")


BUNDLED_REGION = Path(__file__).resolve().parents[2] / "regions" / "monaco.osm.pbf"


def prepare_demo_region(settings: Settings, console: Console) -> None:
    """Import the bundled Monaco extract into the data dir once (a few seconds), so the
    backend routes on real streets; later starts find it and skip this."""
    from backend.regions.importer import RegionImportError, import_region
    from backend.regions.metadata import read_info

    if settings.routing_url or read_info(settings.regions_dir / settings.region) is not None:
        return
    if settings.region != "monaco" or not BUNDLED_REGION.is_file():
        console.print(
            f"[yellow]no road network:[/yellow] region '{settings.region}' is not imported; "
            "times and distances are straight-line estimates "
            "(`lastmile region import FILE.osm.pbf`)"
        )
        return
    try:
        with console.status("importing the Monaco road network (first start only)…"):
            import_region(BUNDLED_REGION, settings.regions_dir, settings.region)
    except RegionImportError as exc:
        console.print(f"[yellow]road network import failed:[/yellow] {exc}")


def _start_app(
    module: str, host: str, port: int, api_url: str, data_dir: Path
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "FLET_WEB_NO_CDN": "1",
        "LASTMILE_API_URL": api_url,
        # The driver app's offline queues (web mode keeps them on this machine).
        "LASTMILE_DRIVER_DATA_DIR": str(data_dir / "driver-app"),
    }
    return subprocess.Popen(
        [sys.executable, "-m", module, "--host", host, "--port", str(port), "--api", api_url],
        env=env,
    )


def run_platform(settings: Settings, *, host: str, port: int, console: Console) -> None:
    import uvicorn

    from backend.cli import seed
    from backend.main import create_app

    base = f"http://{host}:{port}"
    if "public_base_url" not in settings.model_fields_set:
        settings = settings.model_copy(update={"public_base_url": base})
    prepare_demo_region(settings, console)
    with console.status("preparing the database and the demo data…"):
        logins = asyncio.run(seed(settings))
    dispatcher_port = free_port(host, port + 1)
    driver_port = free_port(host, port + 2 if port + 2 != dispatcher_port else 0)
    children = [
        _start_app("dispatcher_app", host, dispatcher_port, base, Path(settings.data_dir)),
        _start_app("driver_app", host, driver_port, base, Path(settings.data_dir)),
    ]
    lines = [
        f"backend: {base}",
        f"api-docs: {base}/docs",
        f"dispatcher: http://{host}:{dispatcher_port}/",
        f"driver: http://{host}:{driver_port}/",
        *[f"track: {url}" for url in logins.tracking_urls],
        "",
        f"logins (password for all: {logins.password})",
        f"  admin:      {logins.admin}",
        f"  dispatcher: {logins.dispatcher}",
        f"  driver:     {logins.drivers[0]} (more: {', '.join(logins.drivers[1:])})",
        "",
        "Ctrl-C stops everything; the data stays for the next start (--fresh to wipe).",
    ]
    # Plain prints: one `NAME: URL` per line so scripts can find them.
    print("\n".join(lines), flush=True)
    try:
        uvicorn.run(create_app(settings), host=host, port=port, log_level="warning")
    finally:
        for child in children:
            child.terminate()
        for child in children:
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
