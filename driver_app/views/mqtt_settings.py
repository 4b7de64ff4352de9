"""The driver's MQTT setting: a gear in the header opens a small form above the stops."""

from dataclasses import dataclass

import flet as ft

from app_kit.hooks import tagged, use_observable
from driver_app.state.mqtt_settings import MqttSettingsState


@dataclass
class _Draft:
    """What is typed so far (a ref: handlers read the latest keystrokes)."""

    url: str = ""


def mqtt_settings_button(settings: MqttSettingsState) -> ft.Control:
    return tagged(
        "mqtt-settings-open",
        ft.IconButton(ft.Icons.SETTINGS, tooltip="Position settings", on_click=settings.open),
    )


@ft.component
def mqtt_settings_panel(settings: MqttSettingsState) -> ft.Control:
    use_observable(settings)
    draft = ft.use_ref(_Draft()).current
    assert draft is not None
    if not settings.editing:
        return ft.Container(visible=False)

    def typed(e: ft.Event[ft.TextField]) -> None:
        draft.url = e.control.value

    async def save() -> None:
        if not settings.busy and await settings.save(draft.url):
            draft.url = ""

    async def clear() -> None:
        if not settings.busy:
            draft.url = ""
            await settings.clear()

    controls: list[ft.Control] = [
        ft.Text("Send positions over MQTT", weight=ft.FontWeight.BOLD),
        tagged("mqtt-summary", ft.Text(settings.summary())),
        tagged(
            "mqtt-url",
            ft.TextField(
                label="MQTT broker",
                hint_text="mqtt://DEVICE:PASSWORD@host:1883",
                value=draft.url,
                password=True,
                can_reveal_password=True,
                on_change=typed,
                on_submit=save,
            ),
        ),
    ]
    if settings.error:
        controls.append(tagged("mqtt-error", ft.Text(settings.error, color=ft.Colors.ERROR)))
    controls.append(
        ft.Row(
            [
                tagged("mqtt-save", ft.FilledButton("Save", on_click=save, disabled=settings.busy)),
                tagged(
                    "mqtt-clear",
                    ft.TextButton(
                        "Clear my setting",
                        on_click=clear,
                        disabled=settings.busy or settings.own is None,
                    ),
                ),
                tagged("mqtt-close", ft.TextButton("Close", on_click=settings.close)),
            ],
            spacing=8,
        )
    )
    return tagged(
        "mqtt-settings",
        ft.Container(
            padding=12,
            border_radius=12,
            border=ft.Border.all(1, ft.Colors.OUTLINE_VARIANT),
            content=ft.Column(controls, spacing=8),
        ),
    )
