"""Customer message templates (pure; no I/O): Jinja2 text, one per notice and channel.

A notice (``failed_reattempt_today``...) has a subject and a body for email and a short
body for SMS, per language (``en`` is the fallback). Templates see only the variables in
:data:`VARIABLES`: a template naming any other is refused when it is loaded, not when a
customer is waiting for the message. Rendering is sandboxed and strict (a missing value
is an error, never an empty gap in a sentence).
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, meta
from jinja2.sandbox import SandboxedEnvironment

FALLBACK_LANGUAGE = "en"

VARIABLES: Mapping[str, str] = {
    "recipient_name": "the customer's name, as on the order",
    "org_name": "the organisation delivering",
    "reference": "the order's reference (or its number)",
    "tracking_url": "the order's tracking link, or nothing when it has none",
    "reason_text": "why the delivery failed, in the customer's words",
    "minutes_away": "for the arriving notice: about how many minutes until the driver is there",
}

REASON_TEXT: Mapping[str, str] = {
    "not_home": "nobody was in",
    "wrong_address": "we could not find the address",
    "access_problem": "we could not get in to the building",
    "refused": "the parcel was refused",
    "damaged": "the parcel was damaged",
    "unsafe": "it was not safe to deliver",
    "business_closed": "the business was closed",
    "other": "we could not complete the delivery",
}


class TemplateError(ValueError):
    """A template cannot be used; the message names it and what is wrong."""


@dataclass(frozen=True, slots=True)
class NoticeText:
    """The source of one notice in one language."""

    subject: str
    email: str
    sms: str


_TRACK = "{% if tracking_url %} {{ tracking_url }}{% endif %}"
_EMAIL_TRACK = (
    "{% if tracking_url %}\n\nFollow your parcel, leave instructions or choose another time:"
    "\n{{ tracking_url }}{% endif %}"
)
_HELLO = "Hello {{ recipient_name }},\n\n"
_SIGN = "\n\n{{ org_name }}"

DEFAULTS: Mapping[str, Mapping[str, NoticeText]] = {
    "en": {
        "failed_reattempt_today": NoticeText(
            subject="We missed you: we will try again today ({{ reference }})",
            email=_HELLO + "Our driver could not deliver your parcel {{ reference }} because "
            "{{ reason_text }}. We will try again later today." + _EMAIL_TRACK + _SIGN,
            sms="{{ org_name }}: we could not deliver {{ reference }} ({{ reason_text }}). "
            "We will try again later today." + _TRACK,
        ),
        "failed_rescheduled": NoticeText(
            subject="Your delivery {{ reference }} moves to another day",
            email=_HELLO + "Our driver could not deliver your parcel {{ reference }} because "
            "{{ reason_text }}. We will deliver it on another day; you can choose the time "
            "that suits you." + _EMAIL_TRACK + _SIGN,
            sms="{{ org_name }}: we could not deliver {{ reference }} ({{ reason_text }}). "
            "We will come on another day: choose a time" + _TRACK,
        ),
        "delivered_safe_place": NoticeText(
            subject="Your parcel {{ reference }} was left in a safe place",
            email=_HELLO + "Nobody could take your parcel {{ reference }}, so our driver left "
            "it in a safe place and took a photo of where." + _EMAIL_TRACK + _SIGN,
            sms="{{ org_name }}: your parcel {{ reference }} was left in a safe place. "
            "See where" + _TRACK,
        ),
        "failed_returning": NoticeText(
            subject="Your parcel {{ reference }} is going back to us",
            email=_HELLO + "Our driver could not deliver your parcel {{ reference }} because "
            "{{ reason_text }}. It is going back to our depot and we will contact you about "
            "what happens next." + _SIGN,
            sms="{{ org_name }}: we could not deliver {{ reference }} ({{ reason_text }}). "
            "It is going back to our depot; we will contact you.",
        ),
        "scheduled": NoticeText(
            subject="Your delivery {{ reference }} is scheduled",
            email=_HELLO
            + "Your parcel {{ reference }} is planned for delivery."
            + _EMAIL_TRACK
            + _SIGN,
            sms="{{ org_name }}: your parcel {{ reference }} is scheduled for delivery." + _TRACK,
        ),
        "out_for_delivery": NoticeText(
            subject="Your parcel {{ reference }} is out for delivery",
            email=_HELLO
            + "Our driver is on the way with your parcel {{ reference }}."
            + _EMAIL_TRACK
            + _SIGN,
            sms="{{ org_name }}: your parcel {{ reference }} is out for delivery." + _TRACK,
        ),
        "arriving": NoticeText(
            subject="Your parcel {{ reference }} arrives in about {{ minutes_away }} minutes",
            email=_HELLO + "Our driver will be with you in about {{ minutes_away }} minutes "
            "with your parcel {{ reference }}." + _EMAIL_TRACK + _SIGN,
            sms="{{ org_name }}: our driver arrives in about {{ minutes_away }} min with "
            "{{ reference }}." + _TRACK,
        ),
        "delivered": NoticeText(
            subject="Your parcel {{ reference }} was delivered",
            email=_HELLO + "Your parcel {{ reference }} was delivered." + _EMAIL_TRACK + _SIGN,
            sms="{{ org_name }}: your parcel {{ reference }} was delivered." + _TRACK,
        ),
        "rescheduled": NoticeText(
            subject="Your delivery {{ reference }} moves to another day",
            email=_HELLO + "The delivery of your parcel {{ reference }} moves to another "
            "day; we will tell you when it is planned." + _EMAIL_TRACK + _SIGN,
            sms="{{ org_name }}: the delivery of {{ reference }} moves to another day." + _TRACK,
        ),
    }
}

NOTICE_KEYS: frozenset[str] = frozenset(DEFAULTS[FALLBACK_LANGUAGE])

_ENV = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)


# Variables only some notices have a value for (the others would print nothing useful).
ONLY_IN: Mapping[str, frozenset[str]] = {
    "minutes_away": frozenset({"arriving"}),
    "reason_text": frozenset({"failed_reattempt_today", "failed_rescheduled", "failed_returning"}),
}


def variables_of(key: str) -> list[str]:
    """The variables notice ``key``'s templates may use."""
    return [v for v in VARIABLES if key in ONLY_IN.get(v, frozenset({key}))]


def check_source(name: str, source: str, known: list[str] | None = None) -> None:
    """Refuse a template that does not parse or names a variable outside ``known``
    (default: :data:`VARIABLES`)."""
    known = list(VARIABLES) if known is None else known
    try:
        parsed = _ENV.parse(source)
    except TemplateSyntaxError as exc:
        raise TemplateError(f"template {name}: line {exc.lineno}: {exc.message}") from None
    unknown = sorted(meta.find_undeclared_variables(parsed) - set(known))
    if unknown:
        raise TemplateError(
            f"template {name}: unknown variable(s) {', '.join(unknown)}; known: {', '.join(known)}"
        )


_SAMPLE: Mapping[str, Any] = {
    "recipient_name": "Rita Recipient",
    "org_name": "Monaco Parcels",
    "reference": "REF-7",
    "tracking_url": "https://track.example/t/abc",
    "reason_text": REASON_TEXT["not_home"],
    "minutes_away": 8,
}


def check_text(key: str, language: str, text: NoticeText) -> None:
    """Check an organisation's own text for notice ``key`` before it is saved."""
    if key not in NOTICE_KEYS:
        raise TemplateError(f"no notice is called {key!r}; known: {', '.join(sorted(NOTICE_KEYS))}")
    for part in ("subject", "email", "sms"):
        name = f"{language}/{key}.{part}"
        source = getattr(text, part)
        check_source(name, source, variables_of(key))
        # Rendered now with values like a real notice's (with and without a link): what the
        # sandbox refuses or what fails on the values' types is refused here, not later.
        for sample in (_SAMPLE, {**_SAMPLE, "tracking_url": None}):
            try:
                _ENV.from_string(source).render(sample)
            except Exception as exc:  # SecurityError, TypeError, UndefinedError...
                raise TemplateError(f"template {name}: {type(exc).__name__}: {exc}") from None


def check_all(templates: Mapping[str, Mapping[str, NoticeText]]) -> None:
    """Check every template of every notice in every language."""
    for language, notices in templates.items():
        for key, text in notices.items():
            for part in ("subject", "email", "sms"):
                check_source(f"{language}/{key}.{part}", getattr(text, part))


@dataclass(frozen=True, slots=True)
class Rendered:
    language: str
    subject: str
    email: str
    sms: str


def render(
    key: str,
    values: Mapping[str, Any],
    language: str = FALLBACK_LANGUAGE,
    templates: Mapping[str, Mapping[str, NoticeText]] = DEFAULTS,
    *,
    own: NoticeText | None = None,
) -> Rendered:
    """Notice ``key`` in ``language`` (or the fallback language) filled with ``values``;
    ``own`` is the organisation's text for it in ``language``, when it has one."""
    if own is not None:
        chosen, text = language, own
    else:
        chosen = language if key in templates.get(language, {}) else FALLBACK_LANGUAGE
        try:
            text = templates[chosen][key]
        except KeyError:
            raise TemplateError(f"no template for notice {key!r}") from None
    filled = {name: values.get(name) for name in VARIABLES}

    def fill(source: str) -> str:
        return _ENV.from_string(source).render(filled).strip()

    return Rendered(chosen, fill(text.subject), fill(text.email), fill(text.sms))
