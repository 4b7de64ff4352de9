"""Notice templates: every notice renders, strictly, and a bad template is refused on load."""

import pytest

from backend.notifications.templates import (
    DEFAULTS,
    REASON_TEXT,
    NoticeText,
    TemplateError,
    check_all,
    check_source,
    render,
)
from backend.pod.failures import NOTICES, FailureReason

VALUES = {
    "recipient_name": "Rita Recipient",
    "org_name": "Monaco Parcels",
    "reference": "REF-7",
    "tracking_url": "https://track.example/t/abc",
    "reason_text": REASON_TEXT["not_home"],
}


def test_the_shipped_templates_pass_the_load_check_and_cover_every_follow_up() -> None:
    check_all(DEFAULTS)
    assert set(NOTICES.values()) <= set(DEFAULTS["en"])
    assert set(REASON_TEXT) == {r.value for r in FailureReason}


@pytest.mark.parametrize("key", sorted(DEFAULTS["en"]))
def test_every_notice_names_the_customer_the_parcel_and_the_sender(key: str) -> None:
    text = render(key, VALUES)
    assert "REF-7" in text.subject
    assert text.email.startswith("Hello Rita Recipient,")
    assert text.email.endswith("Monaco Parcels")
    assert text.sms.startswith("Monaco Parcels: ")
    assert "{{" not in text.email + text.sms + text.subject
    assert len(text.sms) <= 320  # two SMS segments at most


def test_the_reason_and_the_link_appear_only_where_they_belong() -> None:
    text = render("failed_reattempt_today", VALUES)
    assert "because nobody was in. We will try again later today." in text.email
    assert text.sms.endswith("later today. https://track.example/t/abc")
    without_link = render("failed_reattempt_today", {**VALUES, "tracking_url": None})
    assert "http" not in without_link.email + without_link.sms
    assert without_link.sms.endswith("later today.")


def test_an_unknown_language_falls_back_to_english() -> None:
    assert render("failed_rescheduled", VALUES, "xx") == render("failed_rescheduled", VALUES)
    assert render("failed_rescheduled", VALUES, "xx").language == "en"


def test_a_template_naming_an_unknown_variable_is_refused_when_loaded() -> None:
    with pytest.raises(TemplateError, match=r"en/x\.sms: unknown variable\(s\) driver_phone"):
        check_all({"en": {"x": NoticeText("s", "e", "call {{ driver_phone }}")}})
    with pytest.raises(TemplateError, match="line 1"):
        check_source("broken", "Hello {{ recipient_name ")
    with pytest.raises(TemplateError, match="no template for notice 'party'"):
        render("party", VALUES)


def test_templates_run_sandboxed() -> None:
    from jinja2.exceptions import SecurityError

    templates = {"en": {"x": NoticeText("s", "{{ org_name.__class__.__mro__ }}", "s")}}
    with pytest.raises(SecurityError):
        render("x", VALUES, templates=templates)


def test_an_organisation_text_with_an_unknown_variable_is_refused_naming_it() -> None:
    from backend.notifications.templates import check_text

    good = NoticeText("Hi {{ reference }}", "{{ recipient_name }}", "{{ tracking_url }}")
    check_text("delivered", "fr", good)
    bad = NoticeText("Hi {{ reference }}", "{{ driver_phone }}", "ok")
    with pytest.raises(TemplateError, match=r"fr/delivered\.email: unknown variable.*driver_phone"):
        check_text("delivered", "fr", bad)
    late = NoticeText("{{ minutes_away }} min", "ok", "ok")  # only "arriving" knows it
    with pytest.raises(TemplateError, match=r"unknown variable.*minutes_away"):
        check_text("delivered", "fr", late)
    check_text("arriving", "fr", late)
    for unsafe, says in (
        ("{{ reference.__class__.__mro__ }}", "SecurityError"),  # the sandbox, at save time
        ("{{ minutes_away + 'min' }}", "TypeError"),
        ("{{ tracking_url.upper() }}", "UndefinedError"),  # None when the order has no link
    ):
        with pytest.raises(TemplateError, match=says):
            check_text("arriving", "en", NoticeText("ok", unsafe, "ok"))
    with pytest.raises(TemplateError, match="no notice is called 'party'"):
        check_text("party", "en", good)
    with pytest.raises(TemplateError, match="line 1"):
        check_text("delivered", "en", NoticeText("{% if %}", "x", "y"))


def test_the_organisation_text_is_rendered_in_its_language() -> None:
    own = NoticeText("Livré {{ reference }}", "Bonjour {{ recipient_name }}", "Livré")
    out = render("delivered", VALUES, "fr", own=own)
    assert (out.language, out.subject, out.email) == ("fr", "Livré REF-7", "Bonjour Rita Recipient")
