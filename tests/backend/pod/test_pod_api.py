"""``POST /orders/{id}/pod`` and ``GET /orders/{id}/pod/verify`` over a real server."""

import io
import json
import uuid
from pathlib import Path
from typing import Any

import httpx
from PIL import Image

from backend.config import Settings
from tests.backend.pod.labels import code128, label, qr
from tests.backend.pod.test_scanning import require_zbar
from tests.conftest import _new_org, make_settings
from tests.factories import Org, create_order
from tests.live_server import run_server

DROPOFF = (43.7402, 7.4276)  # the factories' drop-off
STROKES = json.dumps([[[10, 10], [60, 40], [120, 15]], [[30, 60], [90, 62]]])


def jpeg(size: tuple[int, int] = (640, 480), colour: str = "teal") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "JPEG")
    return out.getvalue()


async def en_route_order(org: Org, **overrides: Any) -> int:
    order = await create_order(org.dispatcher, **overrides)
    for body in ({"to": "assigned", "driver_id": org.driver_ids[0]}, {"to": "en_route"}):
        response = await org.dispatcher.post(f"/api/v1/orders/{order['id']}/transitions", json=body)
        assert response.status_code == 200, response.text
    order_id: int = order["id"]
    return order_id


async def send_pod(
    client: httpx.AsyncClient,
    order_id: int,
    photos: list[bytes] = (),  # type: ignore[assignment]
    **fields: Any,
) -> httpx.Response:
    data = {"client_id": uuid.uuid4().hex, **{k: str(v) for k, v in fields.items()}}
    files = [("photos", (f"p{i}.jpg", b, "image/jpeg")) for i, b in enumerate(photos)]
    return await client.post(f"/api/v1/orders/{order_id}/pod", data=data, files=files or None)


def stored_files(settings: Settings, order_id: int) -> list[Path]:
    return sorted(Path(settings.data_dir, "proofs").rglob(f"orders/*/{order_id}/*/*"))


def tamper(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:-10] + b"0123456789")


async def status_of(org: Org, order_id: int) -> str:
    response = await org.dispatcher.get(f"/api/v1/orders/{order_id}")
    status: str = response.json()["status"]
    return status


async def test_a_proof_delivers_the_order_and_its_seal_verifies(org: Org) -> None:
    order_id = await en_route_order(org, required_proofs=["photo", "signature"])
    response = await send_pod(
        org.driver,
        order_id,
        [jpeg()],
        signature=STROKES,
        recipient_name="Rita Recipient",
        lat=DROPOFF[0] + 0.0005,  # ~55 m away
        lng=DROPOFF[1],
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "delivered"
    assert body["flagged"] is False
    assert 40 < body["distance_m"] < 70
    assert body["files"] == ["photo-1-display.jpg", "photo-1.jpg", "signature.svg"]
    assert await status_of(org, order_id) == "delivered"

    events = (await org.dispatcher.get(f"/api/v1/orders/{order_id}/events")).json()
    delivered = [e for e in events if e["to_status"] == "delivered"]
    assert len(delivered) == 1
    assert delivered[0]["details"]["pod"]["seal"]["digest"] == body["digest"]
    assert delivered[0]["details"]["pod"]["metadata"]["recipient_name"] == "Rita Recipient"

    check = (await org.dispatcher.get(f"/api/v1/orders/{order_id}/pod/verify")).json()
    assert check == {
        "order_id": order_id,
        "intact": True,
        "problems": [],
        "digest": body["digest"],
        "recomputed": body["digest"],
    }


async def test_a_changed_stored_file_is_found_by_verify(org: Org, settings: Settings) -> None:
    order_id = await en_route_order(org)
    response = await send_pod(org.driver, order_id, [jpeg()])
    assert response.status_code == 201, response.text
    tamper(next(p for p in stored_files(settings, order_id) if p.name == "photo-1.jpg"))
    check = (await org.driver.get(f"/api/v1/orders/{order_id}/pod/verify")).json()
    assert check["intact"] is False
    assert check["problems"] == ["photo-1.jpg: stored bytes changed"]
    assert check["recomputed"] != check["digest"]


async def test_missing_required_proofs_are_named_and_nothing_changes(org: Org) -> None:
    order_id = await en_route_order(org, required_proofs=["signature", "photo"])
    response = await send_pod(org.driver, order_id, [jpeg()])
    assert response.status_code == 422, response.text
    assert "missing proof of delivery: signature" in response.json()["error"]["message"]
    assert await status_of(org, order_id) == "en_route"
    unsigned = await send_pod(org.driver, order_id, [jpeg()], signature=STROKES)
    assert unsigned.status_code == 422
    assert "recipient_name" in unsigned.json()["error"]["message"]


async def test_bad_uploads_are_refused_by_name_and_nothing_is_stored(
    org: Org, settings: Settings
) -> None:
    order_id = await en_route_order(org)
    cases = {
        "not an image": [b"%PDF-1.7 not a photo"],
        "truncated": [jpeg()[:600]],
        "six photos": [jpeg()] * 6,
    }
    for case, photos in cases.items():
        response = await send_pod(org.driver, order_id, photos)
        assert response.status_code == 422, (case, response.text)
        assert response.json()["error"]["message"].startswith("photos"), case
    dot = await send_pod(org.driver, order_id, signature="[[[5, 5]]]", recipient_name="R")
    assert dot.status_code == 422
    assert "nothing was drawn" in dot.json()["error"]["message"]
    half = await send_pod(org.driver, order_id, [jpeg()], lat=43.7)
    assert half.status_code == 422
    assert await status_of(org, order_id) == "en_route"
    assert stored_files(settings, order_id) == []


async def test_far_from_the_address_is_accepted_but_flagged(org: Org) -> None:
    order_id = await en_route_order(org)
    far = await send_pod(org.driver, order_id, [jpeg()], lat=DROPOFF[0] + 0.005, lng=DROPOFF[1])
    assert far.status_code == 201, far.text
    assert far.json()["flagged"] is True
    assert far.json()["distance_m"] > 500


async def test_a_replay_gets_the_first_answer_and_another_proof_a_409(org: Org) -> None:
    order_id = await en_route_order(org)
    data = {"client_id": "offline-queue-0001"}
    files = [("photos", ("p.jpg", jpeg(), "image/jpeg"))]
    first = await org.driver.post(f"/api/v1/orders/{order_id}/pod", data=data, files=files)
    again = await org.driver.post(f"/api/v1/orders/{order_id}/pod", data=data, files=files)
    assert first.status_code == 201, first.text
    assert again.status_code == 201, again.text
    assert again.json() == {**first.json(), "replayed": True}
    events = (await org.dispatcher.get(f"/api/v1/orders/{order_id}/events")).json()
    assert sum(e["to_status"] == "delivered" for e in events) == 1
    other = await send_pod(org.driver, order_id, [jpeg()])
    assert other.status_code == 409
    assert "already delivered" in other.json()["error"]["message"]


async def test_only_the_assigned_driver_records_a_proof(org: Org) -> None:
    order_id = await en_route_order(org)
    assert (await send_pod(org.driver2, order_id, [jpeg()])).status_code == 404
    assert (await send_pod(org.dispatcher, order_id, [jpeg()])).status_code == 403
    assert await status_of(org, order_id) == "en_route"


async def test_a_label_photo_is_read_and_checked_against_the_order(org: Org) -> None:
    require_zbar()
    order_id = await en_route_order(org, barcodes=["PARCEL-A1", "PARCEL-A2"])
    url = f"/api/v1/orders/{order_id}/scans"
    photo = label(code128("PARCEL-A1"))
    response = await org.driver.post(url, files={"image": ("label.jpg", photo, "image/jpeg")})
    assert response.status_code == 200, response.text
    assert response.json() == {
        "order_id": order_id,
        "decoder": "zbar",
        "codes": [{"text": "PARCEL-A1", "symbology": "CODE128"}],
        "parcels_left": ["PARCEL-A2"],
    }
    blank = label(qr("x").point(lambda _: 255))
    nothing = await org.driver.post(url, files={"image": ("b.jpg", blank, "image/jpeg")})
    assert nothing.status_code == 422
    assert nothing.json()["error"]["code"] == "nothing_read"


async def test_a_parcel_of_another_order_is_refused_by_name(org: Org) -> None:
    mine = await en_route_order(org, barcodes=["MINE-1"])
    other = await create_order(org.dispatcher, barcodes=["THEIRS-1"])
    url = f"/api/v1/orders/{mine}/scans"
    wrong = await org.driver.post(url, data={"codes": ["MINE-1", "THEIRS-1", "NOBODY-9"]})
    assert wrong.status_code == 422, wrong.text
    message = wrong.json()["error"]["message"]
    assert f"THEIRS-1 belongs to order {other['id']}, not to order {mine}" in message
    assert "NOBODY-9 is not a parcel of this organisation" in message
    assert "MINE-1" not in message
    right = await org.driver.post(url, data={"codes": ["MINE-1"]})
    assert right.status_code == 200, right.text
    assert right.json()["parcels_left"] == []


async def test_a_barcode_proof_needs_every_parcel_scanned(org: Org) -> None:
    order_id = await en_route_order(org, barcodes=["BOX-1", "BOX-2"], required_proofs=["barcode"])
    half = await send_pod(org.driver, order_id, barcodes="BOX-1")
    assert half.status_code == 422, half.text
    assert "missing proof of delivery: barcode" in half.json()["error"]["message"]
    data = {"client_id": uuid.uuid4().hex, "barcodes": ["BOX-2", "BOX-1"]}
    done = await org.driver.post(f"/api/v1/orders/{order_id}/pod", data=data)
    assert done.status_code == 201, done.text
    events = (await org.dispatcher.get(f"/api/v1/orders/{order_id}/events")).json()
    pod = next(e["details"]["pod"] for e in events if e["to_status"] == "delivered")
    assert pod["metadata"]["barcodes"] == ["BOX-2", "BOX-1"]


async def test_the_customers_pin_is_a_proof_and_a_wrong_one_is_refused(
    org: Org, base_url: str
) -> None:
    order_id = await en_route_order(org, required_proofs=["pin"])
    link = await org.dispatcher.post(f"/api/v1/orders/{order_id}/tracking-links", json={})
    async with httpx.AsyncClient(base_url=base_url) as customer:
        pin = (await customer.get(f"/api/v1/track/{link.json()['token']}")).json()["delivery_pin"]
    assert len(pin) == 4
    assert pin.isdigit()
    order_as_staff = (await org.dispatcher.get(f"/api/v1/orders/{order_id}")).json()
    assert "delivery_pin" not in order_as_staff  # only the customer sees it
    wrong = f"{(int(pin) + 1) % 10_000:04d}"
    refused = await send_pod(org.driver, order_id, pin=wrong)
    assert refused.status_code == 422
    assert "not the PIN" in refused.json()["error"]["message"]
    missing = await send_pod(org.driver, order_id)
    assert "missing proof of delivery: pin" in missing.json()["error"]["message"]
    done = await send_pod(org.driver, order_id, pin=pin)
    assert done.status_code == 201, done.text
    events = (await org.dispatcher.get(f"/api/v1/orders/{order_id}/events")).json()
    pod = next(e["details"]["pod"] for e in events if e["to_status"] == "delivered")
    assert pod["metadata"]["pin_confirmed"] is True
    assert not {"pin", "delivery_pin"} & set(pod["metadata"])  # confirmed, never stored


def png(size: tuple[int, int] = (400, 150)) -> bytes:
    out = io.BytesIO()
    image = Image.new("RGBA", size, (255, 255, 255, 0))
    image.putpixel((10, 10), (0, 0, 0, 255))
    image.save(out, "PNG")
    return out.getvalue()


async def test_a_signature_picture_counts_as_a_signature(org: Org) -> None:
    order_id = await en_route_order(org, required_proofs=["signature"])
    url = f"/api/v1/orders/{order_id}/pod"
    files = {"signature_png": ("sig.png", png(), "image/png")}
    unnamed = await org.driver.post(url, data={"client_id": uuid.uuid4().hex}, files=files)
    assert unnamed.status_code == 422
    assert "recipient_name" in unnamed.json()["error"]["message"]
    data = {"client_id": uuid.uuid4().hex, "recipient_name": "R. Recipient"}
    bad = {"signature_png": ("sig.png", b"GIF89a nope", "image/gif")}
    refused = await org.driver.post(url, data=data, files=bad)
    assert refused.status_code == 422
    assert refused.json()["error"]["message"].startswith("signature_png")
    signed = await org.driver.post(url, data=data, files=files)
    assert signed.status_code == 201, signed.text
    assert "signature.png" in signed.json()["files"]


async def test_an_upload_over_the_limit_is_a_413_naming_it(org: Org) -> None:
    order_id = await en_route_order(org)
    huge = b"\xff\xd8" + b"\0" * (15 * 1024 * 1024 + 10)
    response = await send_pod(org.driver, order_id, [jpeg(), huge])
    assert response.status_code == 413, response.text
    assert response.json()["error"]["message"].startswith("photos.1:")
    assert await status_of(org, order_id) == "en_route"


async def test_the_upload_limit_is_a_setting(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, pod_max_upload_mb=0.25)
    with run_server(settings) as url:
        async with _new_org(settings, url) as org:
            order_id = await en_route_order(org)
            big = jpeg((1600, 1200), "teal") + b"\0" * (300 * 1024)
            response = await send_pod(org.driver, order_id, [big])
            assert response.status_code == 413, response.text
            assert "at most 262144" in response.json()["error"]["message"]
            assert (await send_pod(org.driver, order_id, [jpeg()])).status_code == 201
