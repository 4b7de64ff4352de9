"""The ``lastmile`` command line."""

import asyncio
import shutil
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from backend.auth.service import create_user, get_or_create_org
from backend.config import Settings
from backend.db import create_engine, session_scope
from backend.demo.seed import DemoLogins, seed_demo
from backend.migrate import upgrade
from shared.enums import Role

app = typer.Typer(help="Lastmile: self-hostable last-mile delivery.", no_args_is_help=True)
user_app = typer.Typer(help="Manage users.", no_args_is_help=True)
app.add_typer(user_app, name="user")
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
) -> None:
    """Run the backend alone: API, tracking page, docs at /docs."""
    import uvicorn

    uvicorn.run(
        "backend.main:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
        proxy_headers=True,
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


async def seed(settings: Settings) -> DemoLogins:
    await _prepare(settings)
    engine = create_engine(settings.resolved_database_url)
    try:
        async with session_scope(engine) as session:
            logins = await seed_demo(session, settings)
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
) -> None:
    """Run the whole platform: backend, tracking page, dispatcher and driver apps, demo data."""
    from backend.demo.launcher import free_port, port_is_free, run_platform

    settings = Settings()
    if fresh and settings.data_dir.exists() and settings.database_url is None:
        shutil.rmtree(Path(settings.data_dir))
    if port is not None and not port_is_free(host, port):
        console.print(f"[red]error:[/red] port {port} on {host} is in use; choose another --port")
        raise typer.Exit(1)
    run_platform(settings, host=host, port=port or free_port(host, 8000), console=console)
