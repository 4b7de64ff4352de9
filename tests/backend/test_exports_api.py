"""Exports over real HTTP: orders and events as CSV a spreadsheet opens safely, streamed a
page at a time; a route as GeoJSON and GPX."""

import csv
import io
from datetime import UTC, datetime, timedelta
from xml.etree import ElementTree as ET

import pytest

from backend.exports import router as exports
from backend.exports.tables import cell, csv_text
from tests.backend.optimization.test_dispatch_api import EAST, route_with
from tests.factories import Org, create_order

GPX = "{http://www.topografix.com/GPX/1/1}"


def rows_of(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_cells_are_plain_text_and_never_formulas() -> None:
    assert cell(None) == ""
    assert cell(datetime(2031, 3, 14, 9, 5, tzinfo=UTC)) == "2031-03-14T09:05:00+00:00"
    assert cell('=HYPERLINK("http://x")') == '\'=HYPERLINK("http://x")'
    assert cell("-5") == "'-5"
    assert cell(-5.5) == "-5.5"  # a number stays a number
    assert cell({"b": 1, "a": [2]}) == '{"a":[2],"b":1}'
    assert csv_text([("a,b", 'say "hi"')]) == '"a,b","say ""hi"""\r\n'


async def test_orders_export_as_csv_with_their_drop_off_and_driver(
    org: Org, stranger: Org, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(exports, "BATCH", 2)  # several pages, as a year of orders would be
    made = [await create_order(org.dispatcher) for _ in range(4)]
    sly = await create_order(org.dispatcher, recipient_name="=cmd|'/c calc'!A1")
    await create_order(stranger.dispatcher)  # not theirs to export

    response = await org.dispatcher.get("/api/v1/exports/orders.csv")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = rows_of(response.text)
    assert [int(r["id"]) for r in rows] == [o["id"] for o in [*made, sly]]
    first = rows[0]
    assert first["reference"] == made[0]["reference"]
    assert first["address"] == made[0]["stops"][0]["address"]
    assert float(first["lat"]) == made[0]["stops"][0]["lat"]
    assert first["status"] == "created"
    assert first["window_start"].endswith("+00:00")
    assert rows[-1]["recipient_name"] == "'=cmd|'/c calc'!A1"

    delivered = await org.dispatcher.get(
        "/api/v1/exports/orders.csv", params={"status": "delivered"}
    )
    assert rows_of(delivered.text) == []
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    later = await org.dispatcher.get("/api/v1/exports/orders.csv", params={"date_from": tomorrow})
    assert rows_of(later.text) == []


async def test_events_export_lists_each_change_in_order(org: Org) -> None:
    order = await create_order(org.dispatcher)
    moved = await org.dispatcher.post(
        f"/api/v1/orders/{order['id']}/transitions",
        json={"to": "assigned", "driver_id": org.driver_ids[0]},
    )
    assert moved.status_code == 200, moved.text
    response = await org.dispatcher.get("/api/v1/exports/events.csv")
    assert response.status_code == 200, response.text
    mine = [r for r in rows_of(response.text) if r["order_id"] == str(order["id"])]
    assert [(r["kind"], r["to_status"]) for r in mine][-1] == ("status_changed", "assigned")
    assert all(r["reference"] == order["reference"] for r in mine)
    assert [int(r["id"]) for r in mine] == sorted(int(r["id"]) for r in mine)


async def test_bad_ranges_and_roles_are_refused(org: Org) -> None:
    backwards = await org.dispatcher.get(
        "/api/v1/exports/orders.csv", params={"date_from": "2031-03-14", "date_to": "2031-03-01"}
    )
    assert backwards.status_code == 422
    assert "after" in backwards.json()["error"]["message"]
    too_long = await org.dispatcher.get(
        "/api/v1/exports/events.csv", params={"date_from": "2029-01-01", "date_to": "2031-01-01"}
    )
    assert too_long.status_code == 422
    assert "366 days" in too_long.json()["error"]["message"]
    assert (await org.driver.get("/api/v1/exports/orders.csv")).status_code == 403


async def test_a_route_exports_as_geojson_and_gpx(org: Org, stranger: Org) -> None:
    route_id, stops = await route_with(org, org.driver_ids[0], [EAST[0], EAST[2]], "published")

    geo = await org.dispatcher.get(f"/api/v1/exports/routes/{route_id}.geojson")
    assert geo.status_code == 200, geo.text
    assert geo.headers["content-type"].startswith("application/geo+json")
    collection = geo.json()
    assert collection["type"] == "FeatureCollection"
    [path] = [f for f in collection["features"] if f["properties"]["role"] == "path"]
    line = path["geometry"]["coordinates"]
    assert line[0] == pytest.approx([EAST[0][1], EAST[0][0]], abs=0.002)  # [lng, lat]
    assert line[-1] == pytest.approx([EAST[2][1], EAST[2][0]], abs=0.002)
    points = [f for f in collection["features"] if f["properties"]["role"] == "stop"]
    assert [p["properties"]["stop_id"] for p in points] == stops
    assert [p["properties"]["sequence"] for p in points] == [1, 2]

    gpx = await org.dispatcher.get(f"/api/v1/exports/routes/{route_id}.gpx")
    assert gpx.status_code == 200, gpx.text
    root = ET.fromstring(gpx.content)
    rtepts = root.findall(f"{GPX}rte/{GPX}rtept")
    assert [(float(p.get("lat", 0)), float(p.get("lon", 0))) for p in rtepts] == [
        pytest.approx(EAST[0]),
        pytest.approx(EAST[2]),
    ]
    assert rtepts[0].findtext(f"{GPX}name", "").startswith("1. ")
    assert len(root.findall(f"{GPX}trk/{GPX}trkseg/{GPX}trkpt")) >= 2

    elsewhere = await stranger.dispatcher.get(f"/api/v1/exports/routes/{route_id}.gpx")
    assert elsewhere.status_code == 404
