"""The ETA range and the brand's readable text colour (pure)."""

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from backend.tracking_links.presentation import contrast, eta_window, text_colour_for

NOW = datetime(2026, 12, 4, 14, 25, tzinfo=UTC)


def hm(t: datetime) -> str:
    return t.strftime("%H:%M")


def test_a_near_eta_gets_a_few_minutes_a_far_one_a_wider_range() -> None:
    soon = eta_window(datetime(2026, 12, 4, 14, 32, 20, tzinfo=UTC), NOW)
    assert (hm(soon[0]), hm(soon[1])) == ("14:32", "14:38")  # 5 min after 14:32:20, rounded up
    hour = eta_window(NOW + timedelta(hours=1), NOW)
    assert (hm(hour[0]), hm(hour[1])) == ("15:25", "15:37")  # 20 % of an hour
    far = eta_window(NOW + timedelta(hours=6), NOW)
    assert far[1] - far[0] == timedelta(minutes=45)  # never wider than 45 min
    late = eta_window(NOW - timedelta(minutes=3), NOW)  # overdue: still a range ahead of it
    assert late[1] - late[0] >= timedelta(minutes=5)


@given(st.integers(0, 0xFFFFFF))
def test_the_text_colour_chosen_always_reads_well_on_the_brand(rgb: int) -> None:
    colour = f"#{rgb:06x}"
    assert contrast(colour, text_colour_for(colour)) >= 4.5  # WCAG AA for normal text


def test_known_colours() -> None:
    assert text_colour_for("#ffff00") == "#000000"
    assert text_colour_for("#1f5fbf") == "#ffffff"
    assert round(contrast("#000000", "#ffffff"), 1) == 21.0
