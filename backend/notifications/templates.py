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
    }
}

_ENV = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)


def check_source(name: str, source: str) -> None:
    """Refuse a template that does not parse or names a variable outside :data:`VARIABLES`."""
    try:
        parsed = _ENV.parse(source)
    except TemplateSyntaxError as exc:
        raise TemplateError(f"template {name}: line {exc.lineno}: {exc.message}") from None
    unknown = sorted(meta.find_undeclared_variables(parsed) - set(VARIABLES))
    if unknown:
        raise TemplateError(
            f"template {name}: unknown variable(s) {', '.join(unknown)}; "
            f"known: {', '.join(VARIABLES)}"
        )


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
) -> Rendered:
    """Notice ``key`` in ``language`` (or the fallback language) filled with ``values``."""
    chosen = language if key in templates.get(language, {}) else FALLBACK_LANGUAGE
    try:
        text = templates[chosen][key]
    except KeyError:
        raise TemplateError(f"no template for notice {key!r}") from None
    filled = {name: values.get(name) for name in VARIABLES}

    def fill(source: str) -> str:
        return _ENV.from_string(source).render(filled).strip()

    return Rendered(chosen, fill(text.subject), fill(text.email), fill(text.sms))
