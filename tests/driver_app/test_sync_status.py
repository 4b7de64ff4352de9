"""What the strip above the stops tells the driver about their queue and GPS."""

from datetime import UTC, datetime, timedelta, timezone

from driver_app.logic.sync_status import gps_summary, offline_notice, queue_summary
from driver_app.state.gps import NO_PERMISSION, GpsState


def test_queue_summary_counts_what_waits_and_says_nothing_when_all_is_sent() -> None:
    assert queue_summary(0, 0) is None
    assert queue_summary(1, 0) == "1 action waiting to send"
    assert queue_summary(3, 1) == "3 actions waiting to send · 1 position"
    assert queue_summary(0, 14) == "14 positions"


def test_offline_notice_reassures_and_gives_the_next_try_in_local_time() -> None:
    assert offline_notice(None, None, UTC) is None  # not tried yet: no alarm
    assert offline_notice(True, None, UTC) is None
    paris = timezone(timedelta(hours=1))
    text = offline_notice(False, datetime(2031, 3, 14, 9, 0, 5, tzinfo=UTC), paris)
    assert text is not None
    assert "saved on this phone" in text
    assert text.endswith("Trying again at 10:00:05.")


def test_gps_summary_names_why_there_is_no_position() -> None:
    assert "No GPS here" in gps_summary(None, None)
    assert gps_summary(GpsState.UNAVAILABLE, NO_PERMISSION) == NO_PERMISSION
    assert gps_summary(GpsState.ON, None) == "Sharing your position with dispatch."
    assert "off shift" in gps_summary(GpsState.OFF, None)
