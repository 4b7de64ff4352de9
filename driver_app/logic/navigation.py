"""Handing a stop to the phone's navigation app (pure; no I/O).

* Android: a ``geo:`` address, which every navigation app installed (Google Maps, Waze,
  OsmAnd, Magic Earth...) offers to open, with the stop as a labelled pin;
* iOS: Apple Maps' ``maps:`` scheme with driving directions to the stop;
* anything else (desktop, the web build): the web directions page ``web_template`` names
  (``{lat}``, ``{lng}``), OpenStreetMap's by default. The phone or browser opens it; the
  app itself never fetches it.
"""

from enum import StrEnum
from urllib.parse import quote

DEFAULT_WEB_TEMPLATE = (
    "https://www.openstreetmap.org/directions?engine=fossgis_osrm_car&route=%3B{lat}%2C{lng}"
)


class NavPlatform(StrEnum):
    ANDROID = "android"
    IOS = "ios"
    OTHER = "other"


def nav_platform(platform: str | None, is_web: bool) -> NavPlatform:
    """Which hand-off fits a Flet page's ``platform`` (``ft.PagePlatform`` value) and
    ``web`` flag: a browser on a phone still gets the web page (it cannot open app
    schemes reliably)."""
    if is_web or platform is None:
        return NavPlatform.OTHER
    if platform.startswith("android"):
        return NavPlatform.ANDROID
    if platform == "ios":
        return NavPlatform.IOS
    return NavPlatform.OTHER


def _coordinate(value: float) -> str:
    return f"{value:.6f}"


def navigation_url(
    lat: float,
    lng: float,
    label: str,
    platform: NavPlatform,
    web_template: str = DEFAULT_WEB_TEMPLATE,
) -> str:
    """The address that opens turn-by-turn directions to (``lat``, ``lng``), WGS84 degrees."""
    if not (-90 <= lat <= 90 and -180 <= lng <= 180):
        raise ValueError(f"not a position: {lat}, {lng}")
    y, x = _coordinate(lat), _coordinate(lng)
    label = " ".join(label.replace("(", " ").replace(")", " ").split())  # ( ) end a geo: label
    if platform is NavPlatform.ANDROID:
        pin = f"{y},{x}({label})" if label else f"{y},{x}"
        return f"geo:{y},{x}?q={quote(pin, safe=',()')}"
    if platform is NavPlatform.IOS:
        return f"maps://?daddr={y},{x}&dirflg=d"
    return web_template.format(lat=y, lng=x)
