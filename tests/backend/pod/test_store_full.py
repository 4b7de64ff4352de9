"""A full proof store: a clear 507, nothing half-written, the order not delivered.

Two ways to be full, over a real server: the ``pod_quota_mb`` setting (checked before
anything is written), and a real filesystem without room (a 1 MB tmpfs mounted on the
store: ``ENOSPC`` from the kernel). Mounting needs root, as CI runs the tests: elsewhere
that test skips, and in CI it fails (``require``).
"""

import contextlib
import io
import os
import random
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

from PIL import Image

from backend.config import Settings
from tests.backend.pod.test_pod_api import en_route_order, jpeg, send_pod, status_of
from tests.conftest import _new_org, make_settings, require
from tests.factories import Org
from tests.live_server import run_server


def noisy_jpeg(seed: int, size: tuple[int, int] = (800, 600)) -> bytes:
    """A photo JPEG cannot shrink much (random pixels): a few hundred kB stored."""
    rng = random.Random(seed)
    image = Image.frombytes("RGB", size, rng.randbytes(size[0] * size[1] * 3))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


def files_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


async def assert_refused_whole(org: Org, order_id: int, store: Path, before: list[Path]) -> None:
    """Nothing of the refused proof stayed: no file (not even a temporary one), no event,
    and the order is still on its way."""
    assert files_under(store) == before
    assert await status_of(org, order_id) == "en_route"
    events = (await org.dispatcher.get(f"/api/v1/orders/{order_id}/events")).json()
    assert not [e for e in events if e["to_status"] == "delivered"]


async def test_a_proof_past_the_quota_is_a_507_and_nothing_is_stored(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, pod_quota_mb=0.1)  # 104,857 bytes
    store = Path(settings.data_dir, "proofs")
    with run_server(settings) as url:
        async with _new_org(settings, url) as org:
            small = await en_route_order(org)
            response = await send_pod(org.driver, small, [jpeg((320, 240))])
            assert response.status_code == 201, response.text
            before = files_under(store)

            big = await en_route_order(org)
            response = await send_pod(org.driver, big, [noisy_jpeg(1)])
            assert response.status_code == 507, response.text
            error = response.json()["error"]
            assert error["code"] == "storage_full"
            assert error["message"].startswith("The proof-of-delivery store is full")
            assert "this proof was not recorded" in error["message"]
            assert error["details"]["quota_bytes"] == 104_858
            await assert_refused_whole(org, big, store, before)

            # What still fits is still taken.
            response = await send_pod(org.driver, big, [jpeg((64, 48))])
            assert response.status_code == 201, response.text


@contextlib.contextmanager
def small_filesystem(path: Path, size: str) -> Iterator[None]:
    """A tmpfs of ``size`` mounted on ``path`` (root only) until the block ends."""
    require(os.geteuid() == 0, "mounting a small tmpfs for the proof store needs root")
    path.mkdir(parents=True)
    mount = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
        capture_output=True,
        text=True,
    )
    require(mount.returncode == 0, f"cannot mount a tmpfs here: {mount.stderr.strip()}")
    try:
        yield
    finally:
        subprocess.run(["umount", str(path)], check=True)


async def test_a_full_disk_is_a_507_and_the_same_proof_goes_through_once_freed(
    tmp_path: Path,
) -> None:
    settings: Settings = make_settings(tmp_path)  # no quota: only the disk's limit
    store = Path(settings.data_dir, "proofs")
    with small_filesystem(store, "1m"), run_server(settings) as url:
        async with _new_org(settings, url) as org:
            order_id = await en_route_order(org)
            # Leave ~150 kB free: less than the proof needs.
            filler = store / "filler"
            free = shutil.disk_usage(store).free
            filler.write_bytes(b"\0" * (free - 150 * 1024))
            before = files_under(store)

            client_id = uuid.uuid4().hex
            photo = noisy_jpeg(2)
            response = await send_pod(org.driver, order_id, [photo], client_id=client_id)
            assert response.status_code == 507, response.text
            error = response.json()["error"]
            assert error["code"] == "storage_full"
            assert error["message"].startswith("The proof-of-delivery store is out of disk space")
            assert error["details"]["reason"] == "ENOSPC"
            await assert_refused_whole(org, order_id, store, before)

            # The driver app keeps the proof and sends it again, with its client id, later.
            filler.unlink()
            response = await send_pod(org.driver, order_id, [photo], client_id=client_id)
            assert response.status_code == 201, response.text
            assert await status_of(org, order_id) == "delivered"
            check = (await org.dispatcher.get(f"/api/v1/orders/{order_id}/pod/verify")).json()
            assert check["intact"] is True
