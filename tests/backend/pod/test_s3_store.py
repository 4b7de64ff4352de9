"""Proof files in an S3-compatible bucket: the store, and proofs of delivery over a real
server, against moto's S3 server on a loopback port (S3 itself is a service we cannot run
here; moto answers the S3 protocol over HTTP as AWS does)."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from backend.errors import UnavailableError
from backend.pod.s3_store import S3ProofStore
from tests.backend.pod.test_pod_api import en_route_order, jpeg, send_pod
from tests.conftest import _new_org, make_settings
from tests.live_server import free_port, run_server

BUCKET = "lastmile-proofs"


@pytest.fixture(scope="module")
def s3_url() -> Iterator[str]:
    with pytest.MonkeyPatch.context() as env:
        # moto accepts any credentials; boto3 needs some to sign requests.
        env.setenv("AWS_ACCESS_KEY_ID", "test-access-key")
        env.setenv("AWS_SECRET_ACCESS_KEY", "test-secret-key")
        env.setenv("AWS_DEFAULT_REGION", "eu-west-3")
        port = free_port()
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        server.start()
        url = f"http://127.0.0.1:{port}"
        client(url).create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-3"}
        )
        try:
            yield url
        finally:
            server.stop()


def client(url: str) -> Any:
    return boto3.client("s3", endpoint_url=url, region_name="eu-west-3")


def objects(url: str, prefix: str = "") -> dict[str, bytes]:
    s3 = client(url)
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])
    return {
        item["Key"]: s3.get_object(Bucket=BUCKET, Key=item["Key"])["Body"].read() for item in listed
    }


def test_a_file_goes_in_under_the_prefix_comes_back_and_goes_away(s3_url: str) -> None:
    store = S3ProofStore(BUCKET, endpoint_url=s3_url, prefix="/unit/")
    store.put("orders/1/7/a/photo-1.jpg", b"\xff\xd8 some jpeg bytes")
    assert objects(s3_url, "unit/") == {
        "unit/orders/1/7/a/photo-1.jpg": b"\xff\xd8 some jpeg bytes"
    }
    assert store.get("orders/1/7/a/photo-1.jpg") == b"\xff\xd8 some jpeg bytes"
    store.delete("orders/1/7/a/photo-1.jpg")
    assert objects(s3_url, "unit/") == {}
    store.delete("orders/1/7/a/photo-1.jpg")  # gone already: no error


def test_a_missing_file_is_file_not_found_and_a_bad_key_is_refused(s3_url: str) -> None:
    store = S3ProofStore(BUCKET, endpoint_url=s3_url)
    with pytest.raises(FileNotFoundError):
        store.get("orders/1/7/b/nothing.jpg")
    with pytest.raises(ValueError, match="not a proof key"):
        store.put("../escape", b"x")


def test_a_store_that_cannot_be_used_is_unavailable_naming_the_bucket(s3_url: str) -> None:
    with pytest.raises(UnavailableError, match="'no-such-bucket'") as missing:
        S3ProofStore("no-such-bucket", endpoint_url=s3_url).put("orders/1/x.jpg", b"x")
    assert missing.value.status_code == 503
    closed = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    with pytest.raises(UnavailableError, match="could not read"):
        S3ProofStore(BUCKET, endpoint_url=closed).get("orders/1/x.jpg")


async def test_proofs_of_delivery_live_in_the_bucket_and_verify_from_it(
    s3_url: str, tmp_path: Path
) -> None:
    settings = make_settings(
        tmp_path, pod_s3_bucket=BUCKET, pod_s3_endpoint_url=s3_url, pod_s3_prefix="live"
    )
    with run_server(settings) as url:
        async with _new_org(settings, url) as org:
            order_id = await en_route_order(org)
            response = await send_pod(org.driver, order_id, [jpeg()])
            assert response.status_code == 201, response.text
            stored = objects(s3_url, "live/")
            names = sorted(key.rsplit("/", 1)[1] for key in stored if f"/{order_id}/" in key)
            assert names == ["photo-1-display.jpg", "photo-1.jpg"]
            assert not (tmp_path / "proofs").exists()  # nothing on the local disk

            check = (await org.dispatcher.get(f"/api/v1/orders/{order_id}/pod/verify")).json()
            assert (check["intact"], check["problems"]) == (True, [])

            # Someone rewrites the photo in the bucket: the seal names it.
            photo = next(k for k in stored if f"/{order_id}/" in k and k.endswith("/photo-1.jpg"))
            changed = stored[photo][:-4] + b"EVIL"
            client(s3_url).put_object(Bucket=BUCKET, Key=photo, Body=changed)
            check = (await org.dispatcher.get(f"/api/v1/orders/{order_id}/pod/verify")).json()
            assert check["intact"] is False
            assert check["problems"] == ["photo-1.jpg: stored bytes changed"]


async def test_a_proof_is_refused_whole_when_the_bucket_is_gone(
    s3_url: str, tmp_path: Path
) -> None:
    settings = make_settings(
        tmp_path, pod_s3_bucket="bucket-nobody-made", pod_s3_endpoint_url=s3_url
    )
    with run_server(settings) as url:
        async with _new_org(settings, url) as org:
            order_id = await en_route_order(org)
            response = await send_pod(org.driver, order_id, [jpeg()])
            assert response.status_code == 503, response.text
            error = response.json()["error"]
            assert error["code"] == "proof_storage_unavailable"
            assert "bucket-nobody-made" in error["message"]
            order = (await org.dispatcher.get(f"/api/v1/orders/{order_id}")).json()
            assert order["status"] == "en_route"  # not delivered without its proof
