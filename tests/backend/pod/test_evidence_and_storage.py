"""Seals notice any changed byte or field; the local store writes whole files at safe keys."""

from pathlib import Path

import pytest

from backend.pod.evidence import seal, verify
from backend.pod.storage import LocalProofStore

META = {"order_id": 7, "recipient": "Rita", "gps": [43.7384, 7.4246], "at": "2026-11-21T10:15:30Z"}
FILES = {"photo.jpg": b"\xff\xd8jpeg bytes", "signature.png": b"\x89PNG bytes"}


def test_an_intact_proof_verifies_and_key_order_does_not_matter() -> None:
    recorded = seal(FILES, META)
    assert verify(recorded, FILES, dict(reversed(list(META.items())))) == []
    assert len(recorded.digest) == 64


def test_a_changed_byte_a_changed_field_and_an_extra_file_are_each_noticed() -> None:
    recorded = seal(FILES, META)
    flipped = {**FILES, "photo.jpg": b"\xff\xd8jpeg bytez"}
    assert verify(recorded, flipped, META) == ["photo.jpg: stored bytes changed"]
    assert verify(recorded, FILES, {**META, "recipient": "Bob"}) == ["metadata changed"]
    assert verify(recorded, {**FILES, "extra.jpg": b"x"}, META) == [
        "extra.jpg: not in the recorded proof"
    ]
    assert seal(flipped, META).digest != recorded.digest


def test_local_store_round_trip_and_safe_keys(tmp_path: Path) -> None:
    store = LocalProofStore(tmp_path)
    store.put("org-1/order-7/photo.jpg", b"one")
    store.put("org-1/order-7/photo.jpg", b"two")  # replaced whole
    assert store.get("org-1/order-7/photo.jpg") == b"two"
    assert [p.name for p in (tmp_path / "org-1/order-7").iterdir()] == ["photo.jpg"]
    for bad in ("../etc/passwd", "/abs/path", "org-1/../../x", "a b"):
        with pytest.raises(ValueError, match="not a proof key"):
            store.put(bad, b"x")
    store.delete("org-1/order-7/photo.jpg")
    with pytest.raises(FileNotFoundError):
        store.get("org-1/order-7/photo.jpg")
