"""The driver's MQTT setting: entered, checked, kept beside their queue, applied at once.

The app may have a default (``$LASTMILE_DRIVER_MQTT_URL``); a driver's own setting, saved
here, replaces it for that driver on this device, and clearing it brings the default back.
Saving an unusable URL changes nothing and says why (``error``). ``apply`` switches the
queue's sender (:meth:`~driver_app.state.fix_sender.FallbackFixSender.use`).
"""

import logging
from collections.abc import Awaitable, Callable

from app_kit.observable import Observable
from driver_app.logic.fix_transport import MqttSetting, MqttSettingError, parse_mqtt_url
from driver_app.services.mqtt_url_file import MqttUrlFile

log = logging.getLogger(__name__)

Apply = Callable[[MqttSetting | None], Awaitable[None]]


class MqttSettingsState(Observable):
    """``own`` (the driver's saved setting), ``default`` (the app's), ``active`` (the one in
    use), ``editing`` (the form is open), ``error`` (why the last save was refused)."""

    def __init__(self, file: MqttUrlFile, default: MqttSetting | None, apply: Apply) -> None:
        super().__init__()
        self._file = file
        self._apply = apply
        self.default = default
        self.own: MqttSetting | None = None
        self.editing = False
        self.busy = False
        self.error: str | None = None

    @property
    def active(self) -> MqttSetting | None:
        return self.own or self.default

    def summary(self) -> str:
        """The setting in use, in words (never the password)."""
        setting = self.active
        if setting is None:
            return "Positions go over HTTP (no MQTT broker set)."
        whose = "your setting" if self.own is not None else "this app's default"
        return f"Positions go over MQTT to {setting.display()} ({whose})."

    async def load(self) -> MqttSetting | None:
        """Read the driver's saved setting (an unusable one is ignored); the one to use."""
        saved = await self._file.load()
        if saved is not None:
            try:
                self.own = parse_mqtt_url(saved)
            except MqttSettingError as exc:
                log.warning("ignoring the saved MQTT setting: %s", exc)
                self.error = f"Your saved MQTT setting is ignored: {exc}"
        return self.active

    def open(self) -> None:
        self.editing, self.error = True, None
        self.notify()

    def close(self) -> None:
        self.editing, self.error = False, None
        self.notify()

    async def save(self, url: str) -> bool:
        """Check ``url``, keep it and use it from the next batch on; False (and ``error``)
        when it cannot be used."""
        try:
            setting = parse_mqtt_url(url)
        except MqttSettingError as exc:
            self.error = str(exc)
            self.notify()
            return False
        await self._change(setting, url.strip())
        return True

    async def clear(self) -> None:
        """Forget the driver's setting: back to the app's default (HTTP when none)."""
        await self._change(None, None)

    async def _change(self, own: MqttSetting | None, url: str | None) -> None:
        self.busy = True
        self.notify()
        try:
            if url is None:
                await self._file.clear()
            else:
                await self._file.save(url)
        except OSError as exc:
            self.error = f"Could not keep the setting on this device: {exc}"
            return
        else:
            self.own, self.editing, self.error = own, False, None
            try:
                await self._apply(self.active)
            except Exception as exc:  # kept, but not in use: say so rather than fail the form
                log.exception("could not switch the MQTT setting")
                self.editing, self.error = True, f"Saved, but could not be used now: {exc}"
        finally:
            self.busy = False
            self.notify()
