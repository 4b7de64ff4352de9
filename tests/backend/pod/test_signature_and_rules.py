"""Drawn signatures are checked and kept as SVG; required proofs and the place check."""

import json
import re
import xml.etree.ElementTree as ET

import pytest

from backend.pod.rules import missing_message, missing_proofs, place_check
from backend.pod.signature import MAX_POINTS, SignatureError, parse_strokes
from shared.enums import ProofType
from shared.geo import Point

STROKES = [[[10, 10], [40, 30], [80, 12]], [[20, 50], [60.5, 52]]]


def test_a_signature_becomes_an_svg_with_one_path_per_stroke() -> None:
    signature = parse_strokes(json.dumps(STROKES))
    assert signature.points == 5
    root = ET.fromstring(signature.svg())
    paths = root.findall(".//{http://www.w3.org/2000/svg}path")
    assert [p.get("d") for p in paths] == ["M10 10 L40 30 L80 12", "M20 50 L60.5 52"]
    assert root.get("viewBox") == "6 6 78 50"  # what was drawn, plus 4 px around


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ("not json", "not valid JSON"),
        ("[]", "list of strokes"),
        ('{"strokes": []}', "list of strokes"),
        ("[[]]", "stroke 0"),
        ("[[[1, 2, 3]]]", "point is [x, y]"),
        ('[[[1, "2"], [3, 4]]]', "finite numbers"),
        ("[[[1, true], [3, 4]]]", "finite numbers"),
        ("[[[1, 1e999], [3, 4]]]", "finite numbers"),
        ("[[[-1, 2], [3, 4]]]", "within 0..10000"),
        ("[[[5, 5]]]", "nothing was drawn"),
        ("[[[5, 5], [6, 6]]]", "nothing was drawn"),
        (json.dumps([[[i % 100, i % 50] for i in range(MAX_POINTS + 1)]]), "at most 2000"),
        (json.dumps([[[1, 1], [9, 9]]] * 51), "at most 50"),
    ],
)
def test_what_is_not_a_signature_is_refused_by_name(raw: str, problem: str) -> None:
    with pytest.raises(SignatureError, match=re.escape(problem)):
        parse_strokes(raw)


def test_missing_proofs_are_named_in_a_fixed_order() -> None:
    required = ["signature", "photo", "retired-kind"]
    assert missing_proofs(required, [ProofType.PHOTO]) == [ProofType.SIGNATURE]
    assert missing_proofs(required, []) == [ProofType.PHOTO, ProofType.SIGNATURE]
    assert missing_proofs(required, [ProofType.PHOTO, ProofType.SIGNATURE]) == []
    assert missing_message([ProofType.PHOTO, ProofType.SIGNATURE]) == (
        "missing proof of delivery: photo, signature (required for this order)"
    )


def test_a_proof_far_from_the_address_is_flagged_not_refused() -> None:
    address = Point(43.7384, 7.4246)
    near = Point(43.7395, 7.4246)  # ~122 m north
    far = Point(43.7410, 7.4246)  # ~290 m north
    assert not place_check(address, near, None).flagged
    check = place_check(address, far, near)  # the photo's own GPS wins over the app's fix
    assert check.source == "photo"
    assert check.flagged
    assert check.distance_m is not None
    assert 280 < check.distance_m < 300
    assert place_check(address, None, near).source == "app"
    assert not place_check(address, None, far, radius_m=500).flagged
    assert place_check(address, None, None).flagged  # no position at all: look at it
