"""The ``lastmile`` command line."""

import asyncio
import os
import shutil
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from backend.auth.service import create_user, get_or_create_org
from backend.config import Settings
from backend.db import create_engine, session_scope
from backend.demo.day import Snap
from backend.demo.seed import DemoLogins, seed_demo
from backend.migrate import upgrade
from shared.enums import Role

app = typer.Typer(help="Lastmile: self-hostable last-mile delivery.", no_args_is_help=True)
user_app = typer.Typer(help="Manage users.", no_args_is_help=True)
app.add_typer(user_app, name="user")
region_app = typer.Typer(help="Road-network regions (OSM extracts).", no_args_is_help=True)
app.add_typer(region_app, name="region")
import_app = typer.Typer(help="Bring data in from files.", no_args_is_help=True)
app.add_typer(import_app, name="import")
console = Console()


async def _prepare(settings: Settings) -> None:
    if settings.resolved_database_url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = create_engine(settings.resolved_database_url)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()


@app.command()
def migrate() -> None:
    """Bring the database schema up to date."""
    asyncio.run(_prepare(Settings()))
    console.print("database is up to date")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 8000,
    workers: Annotated[int, typer.Option(help="worker processes")] = 1,
    access_log: Annotated[
        bool, typer.Option(help="log every request (costly at thousands of fixes/s)")
    ] = False,
) -> None:
    """Run the backend alone: API, tracking page, docs at /docs."""
    import uvicorn

    if workers > 1 and Settings().mqtt_url is not None:
        # Each MQTT session needs a client id of its own that stays the same across restarts.
        raise typer.BadParameter(
            "with LASTMILE_MQTT_URL run one process per port, each with its own "
            "LASTMILE_MQTT_CLIENT_ID (deploy/systemd/lastmile@.service does), not --workers",
            param_hint="--workers",
        )

    uvicorn.run(
        "backend.main:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
        access_log=access_log,
        proxy_headers=True,
        # Live frames are small and frequent: compressing each costs more CPU than it saves.
        ws_per_message_deflate=False,
    )


@user_app.command("create")
def user_create(
    email: str,
    password: Annotated[
        str, typer.Option(prompt=True, hide_input=True, help="at least 8 characters")
    ],
    role: Annotated[Role, typer.Option(help="admin, dispatcher or driver")],
    org: Annotated[str, typer.Option(help="organisation slug; created if new")] = "default",
    name: Annotated[str, typer.Option(help="full name")] = "",
) -> None:
    """Create a user (and its organisation if new). Use it for the first admin."""

    async def run() -> int:
        settings = Settings()
        await _prepare(settings)
        engine = create_engine(settings.resolved_database_url)
        try:
            async with session_scope(engine) as session:
                organisation = await get_or_create_org(session, org)
                assert organisation.id is not None
                user = await create_user(session, organisation.id, email, password, role, name)
                assert user.id is not None
            return user.id
        finally:
            await engine.dispose()

    from backend.errors import AppError

    try:
        user_id = asyncio.run(run())
    except AppError as exc:
        console.print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(1) from exc
    console.print(f"created {role} {email} (id {user_id}) in organisation '{org}'")


@region_app.command("import")
def region_import(
    file: Annotated[Path, typer.Argument(help="an OpenStreetMap extract, FILE.osm.pbf")],
    name: Annotated[
        str | None, typer.Option(help="region name; default: the file name without .osm.pbf")
    ] = None,
) -> None:
    """Prepare an extract once (OSRM car profile, contraction hierarchies, map tiles index)
    into the data dir; the backend loads it at start (setting LASTMILE_REGION)."""
    from backend.regions.importer import RegionImportError, import_region
    from backend.regions.metadata import read_info

    settings = Settings()
    try:
        with console.status(f"importing {file.name} (routing graph, then map index)…"):
            region_dir = import_region(file, settings.regions_dir, name)
    except RegionImportError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from exc
    info = read_info(region_dir)
    assert info is not None
    console.print(f"region '{info.name}' ready in {region_dir}", soft_wrap=True, highlight=False)
    if info.name != settings.region:
        console.print(f"the backend loads it with LASTMILE_REGION={info.name}")


@region_app.command("list")
def region_list() -> None:
    """The imported regions: name, bounding box, source file, when."""
    from backend.regions.metadata import list_regions

    settings = Settings()
    regions = list_regions(settings.regions_dir)
    if not regions:
        console.print(f"no region imported in {settings.regions_dir}")
        return
    for info in regions:
        south, west, north, east = info.bbox
        loaded = " (loaded at start)" if info.name == settings.region else ""
        console.print(
            f"{info.name}{loaded}: lat {south:.4f}..{north:.4f} lng {west:.4f}..{east:.4f}, "
            f"from {info.source_file} (sha256 {info.source_sha256[:12]}), {info.created_at}",
            soft_wrap=True,
            highlight=False,
        )


@import_app.command("orders")
def import_orders(
    file: Annotated[
        Path, typer.Argument(help="CSV with a header row (comma, semicolon or tab separated)")
    ],
    url: Annotated[
        str, typer.Option(envvar="LASTMILE_URL", help="the running Lastmile server")
    ] = "http://127.0.0.1:8000",
    email: Annotated[
        str | None, typer.Option(envvar="LASTMILE_EMAIL", help="a dispatcher's or an admin's")
    ] = None,
    password: Annotated[
        str | None,
        typer.Option(envvar="LASTMILE_PASSWORD", help="asked for when missing on a terminal"),
    ] = None,
    tz: Annotated[
        str | None,
        typer.Option(help="IANA zone of window times without an offset; default this machine's"),
    ] = None,
    map_: Annotated[
        list[str] | None,
        typer.Option(
            "--map", help="FIELD=COLUMN (a header or its number from 1) over the guessed mapping"
        ),
    ] = None,
    valid_only: Annotated[
        bool, typer.Option(help="import the valid rows even when others fail")
    ] = False,
    dry_run: Annotated[bool, typer.Option(help="check and report; send nothing")] = False,
) -> None:
    """Create orders from a CSV through a running server's API, with a progress bar.

    Rows are checked first as in the dispatcher app; a failing row stops the import
    unless --valid-only. Orders go 1000 per request; running the same file again within
    24 hours creates no duplicates. Exit codes: 0 done, 1 rows refused, 2 bad options or
    file, 3 refused by (or no answer from) the server."""
    from backend.import_orders.command import ImportOptions, run_import

    options = ImportOptions(
        file=file,
        url=url,
        email=email,
        password=password,
        tz=tz,
        maps=map_ or [],
        valid_only=valid_only,
        dry_run=dry_run,
    )
    raise typer.Exit(run_import(console, options))


async def seed(settings: Settings, snap: Snap | None = None) -> DemoLogins:
    await _prepare(settings)
    engine = create_engine(settings.resolved_database_url)
    try:
        async with session_scope(engine) as session:
            logins = await seed_demo(session, settings, snap=snap)
        return logins
    finally:
        await engine.dispose()


@app.command("seed-demo")
def seed_demo_command() -> None:
    """Load the demo organisation (idempotent) and print its logins."""
    logins = asyncio.run(seed(Settings()))
    console.print(
        f"admin: {logins.admin}  dispatcher: {logins.dispatcher}  password: {logins.password}"
    )
    for url in logins.tracking_urls:
        console.print(f"track: {url}", soft_wrap=True, highlight=False)


@app.command()
def demo(
    port: Annotated[
        int, typer.Option(help="backend port; the apps take the next free ports")
    ] = 8000,
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    fresh: Annotated[bool, typer.Option(help="start from an empty database")] = False,
    speed: Annotated[
        float,
        typer.Option(
            min=0.1,
            max=1000,
            help="the simulated drivers move N times faster than real time; their fixes "
            "carry real timestamps, so the demo backend accepts N times the usual speed "
            "between fixes (LASTMILE_LOCATION_MAX_SPEED_MPS times N, demo only)",
        ),
    ] = 1.0,
) -> None:
    """Run the whole platform: backend, tracking page, dispatcher and driver apps, and a live
    demo day (12 drivers, ~150 orders, optimised, published, driven by simulated drivers)."""
    from backend.demo.launcher import free_port, port_is_free, run_platform

    settings = Settings()
    if fresh and settings.data_dir.exists() and settings.database_url is None:
        shutil.rmtree(Path(settings.data_dir))
    if port is not None and not port_is_free(host, port):
        console.print(f"[red]error:[/red] port {port} on {host} is in use; choose another --port")
        raise typer.Exit(1)
    run_platform(
        settings, host=host, port=port or free_port(host, 8000), console=console, speed=speed
    )
    # Everything is stopped and stored. Skip the interpreter's teardown: the OSRM bindings
    # (nanobind) print a page of "leaked instance" lines there, which reads like a crash.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


@app.command()
def simulate(
    speed: Annotated[
        float, typer.Option(help="simulated seconds per real second; 0: no waiting")
    ] = 60.0,
    seed: Annotated[int, typer.Option(help="same seed, same fixes")] = 0,
    interval_s: Annotated[float, typer.Option(help="seconds between GPS fixes")] = 5.0,
    out: Annotated[
        Path | None,
        typer.Option(help="JSON-lines file (replaced); default DATA_DIR/simulation.jsonl"),
    ] = None,
    day: Annotated[
        str | None, typer.Option("--date", help="YYYY-MM-DD of the routes; default today (UTC)")
    ] = None,
    now: Annotated[bool, typer.Option(help="shift the day so the first driver starts now")] = False,
) -> None:
    """Drive the day's routes with virtual drivers on the real streets; write their GPS fixes."""
    from backend.simulator.command import run_simulate

    raise typer.Exit(run_simulate(console, speed, seed, interval_s, out, day, now))
