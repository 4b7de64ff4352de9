"""Encoded polylines: what OSRM sends route and match geometries as (``polyline6``)."""

import osrm
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backend.routing.osrm_embedded import EmbeddedOsrm, _plain
from backend.routing.osrm_http import encode_polyline6
from backend.routing.osrm_responses import decode_polyline, geometry_of, lnglat
from backend.routing.port import RoutingError
from shared.geo import Point


def test_the_reference_example_decodes() -> None:
    # Google's documented example (precision 5).
    assert decode_polyline("_p~iF~ps|U_ulLnnqC_mqNvxq`@") == [
        Point(38.5, -120.2),
        Point(40.7, -120.95),
        Point(43.252, -126.453),
    ]
    assert decode_polyline("") == []


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(-90_000_000, 90_000_000), st.integers(-180_000_000, 180_000_000)),
        max_size=50,
    )
)
def test_decoding_undoes_encoding_to_the_microdegree(micro: list[tuple[int, int]]) -> None:
    points = [Point(lat / 1e6, lng / 1e6) for lat, lng in micro]
    decoded = decode_polyline(encode_polyline6(points), precision=6)
    assert [(round(p.lat * 1e6), round(p.lng * 1e6)) for p in decoded] == micro


@pytest.mark.parametrize(
    "bad", ["_p~iF~ps|", "_p~iF", "_p~iF~ps|U_", "é", "ab c", "~~~~~~~~~~~~~~?"]
)
def test_a_broken_polyline_is_a_routing_error(bad: str) -> None:
    with pytest.raises(RoutingError):
        decode_polyline(bad)


def test_the_engine_polyline_is_the_geojson_geometry(embedded: EmbeddedOsrm) -> None:
    """Asking the engine for polyline6 gives the very points GeoJSON gives."""
    waypoints = [Point(43.72956, 7.41337), Point(43.73942, 7.42768), Point(43.72766, 7.41548)]
    engine = embedded._engine
    answers = {
        kind: _plain(
            engine.Route(
                osrm.RouteParameters(
                    coordinates=lnglat(waypoints),
                    geometries=kind,
                    overview="full",
                    generate_hints=False,
                )
            )
        )
        for kind in ("geojson", "polyline6")
    }
    from_json = geometry_of(answers["geojson"]["routes"][0]["geometry"])
    from_polyline = geometry_of(answers["polyline6"]["routes"][0]["geometry"])
    assert len(from_json) > 50
    assert [(round(p.lat, 7), round(p.lng, 7)) for p in from_polyline] == [
        (round(p.lat, 7), round(p.lng, 7)) for p in from_json
    ]
    assert embedded.route(waypoints).geometry == from_polyline
