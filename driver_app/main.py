"""Composition root: the driver app's state and root view, served on the web (or packaged
for a phone by ``flet build``), with the real GPS, secure storage and queue directory, and
the MQTT broker for the fixes when ``$LASTMILE_DRIVER_MQTT_URL`` is set."""

import os
from collections.abc import Awaitable, Callable
from pathlib import Path

import flet as ft

from app_kit.web import session_main
from driver_app.logic.fix_transport import MqttSetting, MqttSettingError, parse_mqtt_url
from driver_app.services.geolocator import FletLocation
from driver_app.services.location import LocationSource
from driver_app.services.secure_tokens import SecureTokens
from driver_app.state.app import DriverAppState
from driver_app.views.app import driver_app_view
from shared.api_client import ApiClient

TITLE = "Lastmile driver"
MQTT_URL_VARIABLE = "LASTMILE_DRIVER_MQTT_URL"


def default_data_dir() -> Path:
    """Where the offline queue lives: ``$LASTMILE_DRIVER_DATA_DIR``, else the app's own
    storage on a phone (``$FLET_APP_STORAGE_DATA``, set by a ``flet build`` app), else
    ``~/.local/share/lastmile-driver``."""
    for variable in ("LASTMILE_DRIVER_DATA_DIR", "FLET_APP_STORAGE_DATA"):
        if value := os.environ.get(variable):
            return Path(value)
    return Path.home() / ".local" / "share" / "lastmile-driver"


def mqtt_setting(url: str | None = None) -> MqttSetting | None:
    """The fixes' MQTT broker: ``url``, else ``$LASTMILE_DRIVER_MQTT_URL``; None (HTTP only)
    when neither is set. Refuses to start, saying why, when the URL is unusable."""
    value = url if url is not None else os.environ.get(MQTT_URL_VARIABLE, "")
    if not value.strip():
        return None
    try:
        return parse_mqtt_url(value)
    except MqttSettingError as exc:
        source = MQTT_URL_VARIABLE if url is None else "MQTT setting"
        raise SystemExit(f"{source}: {exc}") from None


def build(
    api_url: str, data_dir: Path | None = None, mqtt_url: str | None = None
) -> Callable[[ft.Page], Awaitable[None]]:
    """``mqtt_url``: the fixes' broker (default ``$LASTMILE_DRIVER_MQTT_URL``; empty: none)."""
    queue_dir = data_dir or default_data_dir()
    mqtt = mqtt_setting(mqtt_url)

    def location() -> LocationSource:
        return FletLocation()  # made when the driver signs in, inside their session

    def make_state(client: ApiClient) -> DriverAppState:
        return DriverAppState(
            client, data_dir=queue_dir, location=location, tokens=SecureTokens(), mqtt=mqtt
        )

    return session_main(api_url, TITLE, make_state, driver_app_view)
