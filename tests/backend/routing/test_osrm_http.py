"""The HTTP engine against the wheel's own osrm-routed: same answers as in-process."""

import json
import socket
import threading

import numpy as np
import pytest

from backend.routing.osrm_embedded import EmbeddedOsrm
from backend.routing.osrm_http import HttpOsrm, encode_polyline6
from backend.routing.port import OffRoadError, RoutingError
from shared.geo import Point
from tests.backend.routing.test_osrm_embedded import CASINO, PARIS, STADE, A, B


def _grid(embedded: EmbeddedOsrm, n: int) -> list[Point]:
    """``n`` points on Monaco's roads, fixed seed."""
    rng = np.random.default_rng(3)
    points: list[Point] = []
    while len(points) < n:
        probe = Point(float(rng.uniform(43.727, 43.748)), float(rng.uniform(7.412, 7.435)))
        try:
            points.append(embedded.nearest(probe).point)
        except OffRoadError:
            continue
    return points


def test_polyline6_encoding_is_googles_format() -> None:
    # The reference example of the format at 1e-6 precision (lat, lng).
    points = [Point(38.5, -120.2), Point(40.7, -120.95), Point(43.252, -126.453)]
    assert encode_polyline6(points) == "_izlhA~rlgdF_{geC~ywl@_kwzCn`{nI"


def test_route_agrees_with_the_embedded_engine(
    http_engine: HttpOsrm, embedded: EmbeddedOsrm
) -> None:
    for waypoints in ([A, B], [B, A], [CASINO, STADE, A]):
        assert http_engine.route(waypoints) == embedded.route(waypoints)
    assert http_engine.route([A, B]).duration_s == pytest.approx(43, rel=0.15)


def test_matrix_agrees_with_the_embedded_engine(
    http_engine: HttpOsrm, embedded: EmbeddedOsrm
) -> None:
    points = _grid(embedded, 60)
    over_http = http_engine.matrix(points, points)
    in_process = embedded.matrix(points, points)
    np.testing.assert_array_equal(over_http.durations_s, in_process.durations_s)
    np.testing.assert_array_equal(over_http.distances_m, in_process.distances_m)
    part = http_engine.matrix(points[:7], points[7:20])
    np.testing.assert_array_equal(part.durations_s, in_process.durations_s[:7, 7:20])


def test_nearest_and_match_agree(http_engine: HttpOsrm, embedded: EmbeddedOsrm) -> None:
    over_http_snap, in_process_snap = http_engine.nearest(CASINO), embedded.nearest(CASINO)
    assert over_http_snap.point == in_process_snap.point
    # JSON carries the snap distance to 1e-8 m; the bindings give the full double.
    assert over_http_snap.distance_m == pytest.approx(in_process_snap.distance_m, abs=1e-6)
    trace = embedded.route([CASINO, STADE]).geometry[::4]
    over_http = http_engine.match(trace)
    in_process = embedded.match(trace)
    assert over_http.points == in_process.points
    assert over_http.distance_m == pytest.approx(in_process.distance_m)
    assert over_http.confidence == pytest.approx(in_process.confidence, abs=1e-4)


def test_paris_is_refused_over_http_too(http_engine: HttpOsrm) -> None:
    with pytest.raises(OffRoadError):
        http_engine.route([A, PARIS])
    with pytest.raises(OffRoadError):
        http_engine.matrix([A], [PARIS])


def test_an_unreachable_server_is_a_routing_error() -> None:
    engine = HttpOsrm("http://127.0.0.1:9", timeout_s=2)
    try:
        with pytest.raises(RoutingError, match="unreachable"):
            engine.route([A, B])
    finally:
        engine.close()


def _drop_first_then_answer(listener: socket.socket, answers: list[str]) -> None:
    """Accept connections: the first one is closed without an answer (a kept-alive
    connection the server has just dropped), the others get an OSRM-like answer."""
    body = json.dumps(
        {
            "code": "Ok",
            "waypoints": [{"location": [p.lng, p.lat], "distance": 0.0} for p in (A, B)],
            "routes": [
                {
                    "distance": 12.5,
                    "duration": 3.0,
                    "geometry": encode_polyline6([A, B]),
                    "legs": [{"distance": 12.5, "duration": 3.0}],
                }
            ],
        }
    ).encode()
    for n in range(2):
        conn, _ = listener.accept()
        with conn:
            answers.append(conn.recv(65536).decode(errors="replace").split(" ")[1])
            if n == 0:
                continue
            conn.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
                + body
            )


def test_a_dropped_connection_is_tried_once_more() -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(10)
    answers: list[str] = []
    server = threading.Thread(target=_drop_first_then_answer, args=(listener, answers), daemon=True)
    server.start()
    engine = HttpOsrm(f"http://127.0.0.1:{listener.getsockname()[1]}", timeout_s=5)
    try:
        found = engine.route([A, B])
    finally:
        engine.close()
        server.join(5)
        listener.close()
    assert found.distance_m == pytest.approx(12.5)
    assert len(answers) == 2
    assert answers[0] == answers[1]  # the same request, sent again
