"""Navigation hand-off URLs by platform."""

from urllib.parse import unquote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from driver_app.logic.navigation import NavPlatform, nav_platform, navigation_url


def test_each_platform_gets_the_address_its_navigation_apps_open() -> None:
    android = navigation_url(43.7402, 7.4276, "7 Av. de la Costa", NavPlatform.ANDROID)
    assert android == "geo:43.740200,7.427600?q=43.740200,7.427600(7%20Av.%20de%20la%20Costa)"
    assert navigation_url(43.7402, 7.4276, "x", NavPlatform.IOS) == (
        "maps://?daddr=43.740200,7.427600&dirflg=d"
    )
    web = navigation_url(43.7402, 7.4276, "x", NavPlatform.OTHER)
    assert web.startswith("https://www.openstreetmap.org/directions")
    assert "43.740200%2C7.427600" in web
    custom = navigation_url(1, 2, "x", NavPlatform.OTHER, "https://nav.example/?to={lat},{lng}")
    assert custom == "https://nav.example/?to=1.000000,2.000000"


def test_the_page_decides_the_hand_off() -> None:
    assert nav_platform("android", is_web=False) is NavPlatform.ANDROID
    assert nav_platform("android_tv", is_web=False) is NavPlatform.ANDROID
    assert nav_platform("ios", is_web=False) is NavPlatform.IOS
    assert nav_platform("ios", is_web=True) is NavPlatform.OTHER  # a phone's browser
    assert nav_platform("linux", is_web=False) is NavPlatform.OTHER
    assert nav_platform(None, is_web=False) is NavPlatform.OTHER


def test_an_impossible_position_is_refused() -> None:
    with pytest.raises(ValueError, match="not a position"):
        navigation_url(91, 0, "x", NavPlatform.IOS)


@given(
    st.floats(-90, 90),
    st.floats(-180, 180),
    st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=40),
)
def test_a_label_never_breaks_the_geo_address(lat: float, lng: float, label: str) -> None:
    url = navigation_url(lat, lng, label, NavPlatform.ANDROID)
    head, _, query = url.partition("?q=")
    assert head == f"geo:{lat:.6f},{lng:.6f}"
    for unsafe in " &#":
        assert unsafe not in query
    pin = unquote(query)
    assert pin.startswith(f"{lat:.6f},{lng:.6f}")
    if "(" in pin:  # the label sits whole inside one pair of brackets
        assert pin.endswith(")")
        assert pin.count("(") == pin.count(")") == 1
