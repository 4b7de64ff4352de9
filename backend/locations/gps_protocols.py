"""Parsers for the protocols of standard GPS apps: OsmAnd / Traccar Client, OwnTracks, Overland.

Pure: no framework, no database. Each parser turns what the app sent into :class:`Fix` objects
in our units (WGS84 degrees, epoch seconds UTC, m/s, degrees from north, metres, battery in
percent) and names the device the way the app does. Anything unusable raises
:class:`ProtocolError` with a message naming the field, which the router answers with a 400.

Unit conversions (why the numbers look odd):
- OsmAnd ``speed`` is in knots (1 kn = 1852 m / 3600 s);
- OwnTracks ``vel`` is in km/h;
- Overland ``speed`` is already m/s and ``battery_level`` is 0..1.
Apps send -1 for "unknown" speed, course, accuracy or battery (iOS CoreLocation, Android):
such sentinels become ``None``, not errors.
"""

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from backend.locations.fix import Fix, Rejected, Rejection, Source

KNOT_MPS = 1852.0 / 3600.0
KMH_MPS = 1000.0 / 3600.0
# Numeric timestamps above this are epoch milliseconds: 1e11 s is the year 5138, 1e11 ms 1973.
_MS_THRESHOLD = 1e11
MAX_OVERLAND_POINTS = 1000  # Overland's largest "points per batch" setting
# "2024-05-01T10:00:00 02:00": a '+' of an offset sent unencoded in a query string.
_LOST_PLUS = re.compile(r"(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?) (\d{2}(:?\d{2})?)$")


class ProtocolError(ValueError):
    """The request cannot be understood; the message names the field and the problem."""


@dataclass(frozen=True, slots=True)
class DeviceReport:
    """What one request of a GPS app carried."""

    identifier: str | None  # how the app names the device; None: the caller must find it
    secret: str | None  # the device secret the app sent, if any
    fixes: list[Fix]
    # Index of each fix in the batch the app sent (Overland may drop some points).
    indexes: list[int] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)  # points that could not be read


# --- values -------------------------------------------------------------------------------


def parse_timestamp(value: object, name: str = "timestamp") -> float:
    """Epoch seconds from epoch seconds, epoch milliseconds or ISO 8601 (naive means UTC)."""
    if isinstance(value, bool):
        raise ProtocolError(f"{name}: expected a time, got {value!r}")
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        text = value.strip()
        try:
            number = float(text)
        except ValueError:
            return _parse_iso(text, name)
    else:
        raise ProtocolError(f"{name}: expected a time, got {type(value).__name__}")
    if not math.isfinite(number) or number < 0:
        raise ProtocolError(f"{name}: {value!r} is not a valid time")
    seconds = number / 1000.0 if number >= _MS_THRESHOLD else number
    if seconds >= _MS_THRESHOLD:
        raise ProtocolError(f"{name}: {value!r} is too far in the future")
    return seconds


def _parse_iso(text: str, name: str) -> float:
    text = _LOST_PLUS.sub(r"\1+\4", text)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ProtocolError(
            f"{name}: {text!r} is neither epoch seconds, epoch milliseconds nor ISO 8601"
        ) from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _number(value: object, name: str) -> float:
    if isinstance(value, bool):
        raise ProtocolError(f"{name}: expected a number, got {value!r}")
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError as exc:
            raise ProtocolError(f"{name}: {value!r} is not a number") from exc
    else:
        raise ProtocolError(f"{name}: expected a number, got {type(value).__name__}")
    if not math.isfinite(number):
        raise ProtocolError(f"{name}: {value!r} is not a finite number")
    return number


def _optional(value: object, name: str) -> float | None:
    if value is None or value == "":
        return None
    return _number(value, name)


def _coordinates(
    lat_value: object, lng_value: object, lat_name: str, lng_name: str
) -> tuple[float, float]:
    lat = _number(lat_value, lat_name)
    lng = _number(lng_value, lng_name)
    if not -90.0 <= lat <= 90.0:
        raise ProtocolError(f"{lat_name}: {lat} is outside [-90, 90]")
    if not -180.0 <= lng <= 180.0:
        raise ProtocolError(f"{lng_name}: {lng} is outside [-180, 180]")
    return lat, lng


def _non_negative(value: float | None) -> float | None:
    """Negative speed, accuracy or battery is an app's way of saying "unknown"."""
    return None if value is None or value < 0 else value


def _heading(value: float | None) -> float | None:
    if value is None or value < 0:
        return None
    return value % 360.0


def _battery(percent: float | None, name: str) -> float | None:
    percent = _non_negative(percent)
    if percent is not None and percent > 100.0:
        raise ProtocolError(f"{name}: {percent} is more than 100 %")
    return percent


def _text(value: object, name: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise ProtocolError(f"{name}: expected text, got {type(value).__name__}")
    text = str(value).strip()
    return text or None


# --- OsmAnd / Traccar Client ----------------------------------------------------------------


def parse_osmand(params: Mapping[str, str], received_at: float) -> DeviceReport:
    """One fix from OsmAnd's online tracking or the Traccar Client (query string or form).

    Fields: ``id``/``deviceid``; ``lat`` + ``lon`` or ``location=lat,lon``; ``timestamp``
    (epoch s, epoch ms or ISO 8601; missing: the time it arrived, as Traccar does); ``speed``
    in knots; ``bearing``/``heading``; ``altitude``; ``accuracy``; ``batt``; ``key`` (the
    device secret). Other fields (``hdop``, ``charge``, ``valid``...) are ignored.
    """
    identifier = _text(params.get("id") or params.get("deviceid"), "id")
    if identifier is None:
        raise ProtocolError("id: missing; send the device identifier as 'id' or 'deviceid'")
    if "location" in params and "lat" not in params:
        parts = params["location"].split(",")
        if len(parts) != 2:
            raise ProtocolError(f"location: expected 'lat,lon', got {params['location']!r}")
        lat, lng = _coordinates(parts[0], parts[1], "location (lat)", "location (lon)")
    else:
        if "lat" not in params or "lon" not in params:
            raise ProtocolError("lat, lon: missing; send 'lat' and 'lon' or 'location=lat,lon'")
        lat, lng = _coordinates(params["lat"], params["lon"], "lat", "lon")
    stamp = params.get("timestamp")
    recorded_at = parse_timestamp(stamp) if stamp else received_at
    knots = _non_negative(_optional(params.get("speed"), "speed"))
    heading_name = "bearing" if params.get("bearing") else "heading"
    fix = Fix(
        lat=lat,
        lng=lng,
        recorded_at=recorded_at,
        received_at=received_at,
        speed_mps=None if knots is None else knots * KNOT_MPS,
        heading_deg=_heading(_optional(params.get(heading_name), heading_name)),
        accuracy_m=_non_negative(_optional(params.get("accuracy"), "accuracy")),
        altitude_m=_optional(params.get("altitude"), "altitude"),
        battery=_battery(_optional(params.get("batt"), "batt"), "batt"),
        source=Source.OSMAND,
    )
    return DeviceReport(identifier, params.get("key") or None, [fix], [0])


def parse_traccar_json(body: object, received_at: float) -> DeviceReport:
    """The JSON body newer Traccar Clients POST: ``{"device_id", "location": {"timestamp",
    "coords": {latitude, longitude, speed (m/s), heading, accuracy, altitude}, "battery":
    {"level": 0..1}}}``."""
    if not isinstance(body, dict):
        raise ProtocolError("body: expected a JSON object")
    identifier = _text(body.get("device_id"), "device_id")
    if identifier is None:
        raise ProtocolError("device_id: missing")
    location = body.get("location")
    if not isinstance(location, dict) or not isinstance(location.get("coords"), dict):
        raise ProtocolError("location.coords: missing or not an object")
    coords: dict[str, object] = location["coords"]
    lat, lng = _coordinates(
        coords.get("latitude"), coords.get("longitude"), "coords.latitude", "coords.longitude"
    )
    stamp = location.get("timestamp")
    battery = location.get("battery")
    level = _optional(battery.get("level"), "battery.level") if isinstance(battery, dict) else None
    level = _non_negative(level)
    fix = Fix(
        lat=lat,
        lng=lng,
        recorded_at=received_at if stamp is None else parse_timestamp(stamp, "timestamp"),
        received_at=received_at,
        speed_mps=_non_negative(_optional(coords.get("speed"), "coords.speed")),
        heading_deg=_heading(_optional(coords.get("heading"), "coords.heading")),
        accuracy_m=_non_negative(_optional(coords.get("accuracy"), "coords.accuracy")),
        altitude_m=_optional(coords.get("altitude"), "coords.altitude"),
        battery=None if level is None else _battery(level * 100.0, "battery.level"),
        source=Source.OSMAND,
    )
    key = body.get("key")
    return DeviceReport(identifier, key if isinstance(key, str) else None, [fix], [0])


# --- OwnTracks --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OwnTracksMessage:
    kind: str  # the message's ``_type``
    tid: str | None  # the two-letter tracker id, last resort for naming the device
    fix: Fix | None  # only for ``_type: location``


def parse_owntracks(body: object, received_at: float) -> OwnTracksMessage:
    """One OwnTracks HTTP message. Only ``_type: location`` carries a fix: ``lat``, ``lon``,
    ``tst`` (epoch s), ``acc`` (m), ``vel`` (km/h), ``cog`` (deg), ``alt`` (m), ``batt`` (%)."""
    if not isinstance(body, dict):
        raise ProtocolError("body: expected a JSON object with a '_type'")
    kind = body.get("_type")
    if not isinstance(kind, str):
        raise ProtocolError("_type: missing or not text")
    tid = _text(body.get("tid"), "tid")
    if kind != "location":
        return OwnTracksMessage(kind, tid, None)
    if "tst" not in body:
        raise ProtocolError("tst: missing")
    lat, lng = _coordinates(body.get("lat"), body.get("lon"), "lat", "lon")
    kmh = _non_negative(_optional(body.get("vel"), "vel"))
    fix = Fix(
        lat=lat,
        lng=lng,
        recorded_at=parse_timestamp(body["tst"], "tst"),
        received_at=received_at,
        speed_mps=None if kmh is None else kmh * KMH_MPS,
        heading_deg=_heading(_optional(body.get("cog"), "cog")),
        accuracy_m=_non_negative(_optional(body.get("acc"), "acc")),
        altitude_m=_optional(body.get("alt"), "alt"),
        battery=_battery(_optional(body.get("batt"), "batt"), "batt"),
        source=Source.OWNTRACKS,
    )
    return OwnTracksMessage(kind, tid, fix)


# --- Overland ---------------------------------------------------------------------------------


def parse_overland(body: object, received_at: float) -> DeviceReport:
    """An Overland batch: ``{"locations": [GeoJSON Feature Point], "device_id"?}``.

    The request is refused (``ProtocolError``) only when the batch as a whole is unreadable.
    A point that cannot be read is listed in ``rejected`` and the rest are kept: Overland
    resends its whole queue until it hears ``ok``, so one bad point must not block it forever.
    The device is the top-level ``device_id``, else the first point's ``properties.device_id``;
    a point naming another device is rejected.
    """
    if not isinstance(body, dict):
        raise ProtocolError('body: expected a JSON object {"locations": [...]}')
    features = body.get("locations")
    if not isinstance(features, list):
        raise ProtocolError("locations: missing or not a list")
    if len(features) > MAX_OVERLAND_POINTS:
        raise ProtocolError(
            f"locations: {len(features)} points; at most {MAX_OVERLAND_POINTS} per batch"
        )
    identifier = _text(body.get("device_id"), "device_id")
    report = DeviceReport(identifier, None, [], [], [])
    for index, feature in enumerate(features):
        try:
            point_device, fix = _overland_point(feature, index, received_at)
        except ProtocolError as exc:
            report.rejected.append(Rejected(index, Rejection.INVALID, str(exc)))
            continue
        if identifier is None:
            identifier = point_device
        elif point_device is not None and point_device != identifier:
            message = f"locations[{index}]: device_id {point_device!r} is not {identifier!r}"
            report.rejected.append(Rejected(index, Rejection.INVALID, message))
            continue
        report.fixes.append(fix)
        report.indexes.append(index)
    return DeviceReport(identifier, None, report.fixes, report.indexes, report.rejected)


def _overland_point(feature: object, index: int, received_at: float) -> tuple[str | None, Fix]:
    where = f"locations[{index}]"
    if not isinstance(feature, dict):
        raise ProtocolError(f"{where}: expected a GeoJSON Feature object")
    geometry = feature.get("geometry")
    if not isinstance(geometry, dict) or geometry.get("type") != "Point":
        raise ProtocolError(f"{where}.geometry: expected a GeoJSON Point")
    coordinates = geometry.get("coordinates")
    if not isinstance(coordinates, list) or len(coordinates) < 2:
        raise ProtocolError(f"{where}.geometry.coordinates: expected [lon, lat]")
    lat, lng = _coordinates(
        coordinates[1], coordinates[0], f"{where} latitude", f"{where} longitude"
    )
    properties = feature.get("properties")
    if not isinstance(properties, dict):
        raise ProtocolError(f"{where}.properties: missing or not an object")
    stamp = properties.get("timestamp")
    if stamp is None:
        raise ProtocolError(f"{where}.properties.timestamp: missing")
    level = _non_negative(_optional(properties.get("battery_level"), f"{where} battery_level"))
    altitude = properties.get("altitude")
    if altitude is None and len(coordinates) > 2:
        altitude = coordinates[2]
    fix = Fix(
        lat=lat,
        lng=lng,
        recorded_at=parse_timestamp(stamp, f"{where}.properties.timestamp"),
        received_at=received_at,
        speed_mps=_non_negative(_optional(properties.get("speed"), f"{where} speed")),
        heading_deg=_heading(_optional(properties.get("course"), f"{where} course")),
        accuracy_m=_non_negative(
            _optional(properties.get("horizontal_accuracy"), f"{where} horizontal_accuracy")
        ),
        altitude_m=_optional(altitude, f"{where} altitude"),
        battery=None if level is None else _battery(level * 100.0, f"{where} battery_level"),
        source=Source.OVERLAND,
    )
    return _text(properties.get("device_id"), f"{where} device_id"), fix
