"""``lastmile demo``: the whole platform with a live demo day.

Imports the bundled Monaco once, seeds the demo organisation (and today's orders), starts
the backend (``uvicorn.Server`` in this process's event loop) and both Flet apps, plans and
publishes the day through the API as the demo dispatcher, prints where everything is, then
drives the fleet (every driver but driver1, whom a person plays) until Ctrl-C. Ctrl-C (or
SIGTERM) stops the fleet, the backend and the apps, and keeps the data for the next start.
"""

import asyncio
import contextlib
import gc
import logging
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console

from backend.config import Settings
from backend.demo.day import Snap, demo_drivers
from backend.demo.planning import DemoPlanningError
from shared.api_client import ApiError

log = logging.getLogger(__name__)
STARTUP_TIMEOUT_S = 120.0


class DemoError(Exception):
    """The platform could not be started (the message says why)."""


def port_is_free(host: str, port: int) -> bool:
    """Whether a server could listen on ``host:port`` now (connections of an earlier run
    lingering in TIME_WAIT do not count, as uvicorn binds with ``SO_REUSEADDR`` too)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def free_port(host: str, preferred: int) -> int:
    """``preferred`` if it is free on ``host``, otherwise one the OS picks."""
    for candidate in (preferred, 0):
        with socket.socket() as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
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


def road_snap(settings: Settings) -> tuple[Snap | None, Callable[[], None]]:
    """The road network's nearest-road look-up for the seed's points (None without a
    region), and what releases it."""
    from backend.routing.port import RoutingError
    from backend.routing.router import create_routing
    from shared.geo import Point

    router = create_routing(settings)
    if router is None:
        return None, lambda: None

    def snap(lat: float, lng: float) -> tuple[tuple[float, float], float] | None:
        try:
            found = router.nearest(Point(lat, lng))
        except RoutingError:
            return None
        if found.estimated:
            return None
        return (found.point.lat, found.point.lng), found.distance_m

    return snap, router.close


def demo_max_speed_mps(configured: float, speed: float) -> float:
    """The location ingest's speed limit for a fleet driven ``speed`` times faster than
    real time (its fixes carry real timestamps, so they seem to move that much faster)."""
    return max(configured, configured * speed)


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


def _stop_apps(children: list[subprocess.Popen[bytes]]) -> None:
    for child in children:
        if child.poll() is None:
            child.terminate()
    for child in children:
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait(timeout=5)


def run_platform(
    settings: Settings, *, host: str, port: int, console: Console, speed: float = 1.0
) -> None:
    """Run the demo until Ctrl-C or SIGTERM; returns normally then (exit 0)."""
    from backend.cli import seed

    base = f"http://{host}:{port}"
    updates: dict[str, object] = {
        "location_max_speed_mps": demo_max_speed_mps(settings.location_max_speed_mps, speed)
    }
    if "public_base_url" not in settings.model_fields_set:
        updates["public_base_url"] = base
    settings = settings.model_copy(update=updates)
    try:
        prepare_demo_region(settings, console)
        with console.status("preparing the database and the demo data…"):
            snap, release = road_snap(settings)
            try:
                logins = asyncio.run(seed(settings, snap=snap))
            finally:
                release()
        if logins.orders_added:
            console.print(f"added today's {logins.orders_added} orders")
        del snap, release
        asyncio.run(_platform(settings, host=host, port=port, console=console, speed=speed))
    except KeyboardInterrupt:  # Ctrl-C before the platform took over the signals
        pass
    except (DemoError, DemoPlanningError, ApiError) as exc:
        console.print(f"[red]error:[/red] {exc}", highlight=False)
        gc.collect()
        raise SystemExit(1) from None
    # Free the road engines (native objects) now, not in the interpreter's teardown, which
    # would report them as leaked.
    gc.collect()
    console.print("stopped; the data stays for the next start (--fresh to wipe it)")


class _Server:
    """uvicorn's server, driven from this module: it leaves the signals to us."""

    def __init__(self, settings: Settings, host: str, port: int) -> None:
        import uvicorn

        from backend.main import create_app

        class Server(uvicorn.Server):
            @contextlib.contextmanager
            def capture_signals(self) -> Iterator[None]:
                yield

        config = uvicorn.Config(
            create_app(settings),
            host=host,
            port=port,
            log_level="warning",
            timeout_graceful_shutdown=5,
        )
        self.server = Server(config)

    async def serve(self) -> None:
        try:
            await self.server.serve()
        except SystemExit as exc:  # uvicorn's answer to a failed startup: not ours to exit
            raise DemoError(f"the backend could not start (exit status {exc.code})") from None

    async def until_started(self, serving: "asyncio.Task[None]") -> None:
        deadline = asyncio.get_running_loop().time() + STARTUP_TIMEOUT_S
        while not self.server.started:
            if serving.done():
                serving.result()  # its error, if it had one
                raise DemoError("the backend stopped while starting")
            if asyncio.get_running_loop().time() > deadline:
                raise DemoError(f"the backend did not start in {STARTUP_TIMEOUT_S:.0f} s")
            await asyncio.sleep(0.1)


async def _platform(
    settings: Settings, *, host: str, port: int, console: Console, speed: float
) -> None:
    from backend.demo.planning import plan_day, tracking_urls
    from backend.demo.seed import DISPATCHER, PASSWORD
    from shared.api_client import ApiClient

    drivers = [d.email for d in demo_drivers()]  # driver1 first: a person plays them

    base = f"http://{host}:{port}"
    backend = _Server(settings, host, port)
    main = asyncio.current_task()
    assert main is not None
    stopping = asyncio.Event()

    def stop() -> None:
        backend.server.should_exit = True
        if not stopping.is_set():
            stopping.set()
            main.cancel()

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop)
    serving = asyncio.create_task(backend.serve(), name="backend")
    children: list[subprocess.Popen[bytes]] = []
    fleet: asyncio.Task[None] | None = None
    try:
        dispatcher_port = free_port(host, port + 1)
        driver_port = free_port(host, port + 2 if port + 2 != dispatcher_port else 0)
        children = [
            _start_app("dispatcher_app", host, dispatcher_port, base, Path(settings.data_dir)),
            _start_app("driver_app", host, driver_port, base, Path(settings.data_dir)),
        ]
        with console.status("starting the backend…"):
            await backend.until_started(serving)
        now = datetime.now(UTC)
        async with ApiClient(base) as api, ApiClient(base) as human:
            await api.login(DISPATCHER, PASSWORD)
            console.print(await plan_day(api, now, console))
            await human.login(drivers[0], PASSWORD)
            played = (await human.my_driver()).id
            tracks = await tracking_urls(api, now.date(), skip_drivers={played})
        _print_where(base, dispatcher_port, driver_port, tracks, drivers)
        fleet = asyncio.create_task(
            _drive(base, drivers[1:], speed=speed, console=console), name="fleet"
        )
        await asyncio.wait([serving])  # until stop(): wait() does not cancel the server
    except asyncio.CancelledError:
        if not stopping.is_set():
            raise
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        if fleet is not None:
            fleet.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await fleet
        backend.server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await serving
        await asyncio.to_thread(_stop_apps, children)


def _print_where(
    base: str, dispatcher_port: int, driver_port: int, tracks: list[str], drivers: list[str]
) -> None:
    from backend.demo.seed import ADMIN, DISPATCHER, PASSWORD

    host = base.split("://", 1)[1].rsplit(":", 1)[0]
    lines = [
        f"backend: {base}",
        f"api-docs: {base}/docs",
        f"dispatcher: http://{host}:{dispatcher_port}/",
        f"driver: http://{host}:{driver_port}/",
        *[f"track: {url}" for url in tracks],
        "",
        f"logins (password for all: {PASSWORD})",
        f"  admin:      {ADMIN}",
        f"  dispatcher: {DISPATCHER}",
        f"  driver:     {drivers[0]} (yours to play; driver2@… to driver12@… drive by themselves)",
        "",
        "Ctrl-C stops everything; the data stays for the next start (--fresh to wipe).",
    ]
    # Plain prints: one `NAME: URL` per line so scripts can find them.
    print("\n".join(lines), flush=True)


async def _drive(base: str, emails: list[str], *, speed: float, console: Console) -> None:
    from backend.demo.seed import DISPATCHER, PASSWORD

    def on_event(text: str) -> None:
        console.print(f"[dim]{text}[/dim]", highlight=False, soft_wrap=True)

    try:
        from backend.demo.drive import drive_fleet

        await drive_fleet(
            base,
            [(email, PASSWORD) for email in emails],
            dispatcher=(DISPATCHER, PASSWORD),
            speed=speed,
            on_event=on_event,
        )
    except Exception as exc:  # the platform stays up for the people using it
        log.exception("the simulated fleet stopped")
        console.print(f"[red]the simulated fleet stopped:[/red] {exc}")
        return
    console.print("every simulated route is done")
