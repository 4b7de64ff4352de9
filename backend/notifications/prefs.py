"""An organisation's notice settings, its own templates and its customers' opt-outs.

Raises AppErrors; never commits. An organisation without a settings row has every
default (:data:`DEFAULTS`).
"""

from dataclasses import dataclass
from datetime import time
from zoneinfo import ZoneInfo

from sqlmodel import col, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.errors import NotFoundError, UnprocessableError
from backend.models import (
    Notification,
    NotificationOptOut,
    NotificationSettings,
    NotificationTemplate,
    Order,
)
from backend.models.types import utcnow
from backend.notifications.quiet_hours import QuietHoursError, parse_hhmm, zone
from backend.notifications.templates import (
    DEFAULTS,
    FALLBACK_LANGUAGE,
    NoticeText,
    TemplateError,
    check_text,
)
from backend.notifications.triggers import Trigger
from shared.enums import NotificationStatus
from shared.schemas.notifications import NotificationSettingsIn, NotificationTemplateOut


@dataclass(frozen=True, slots=True)
class Prefs:
    """What queueing a notice needs of the organisation's settings."""

    enabled: frozenset[Trigger]
    arriving_minutes: int
    quiet: tuple[time, time, ZoneInfo] | None
    language: str | None  # None: the deployment's
    auto_tracking_links: bool


def _prefs(row: NotificationSettings | None) -> Prefs:
    body = NotificationSettingsIn.model_validate(row, from_attributes=True) if row else None
    body = body or NotificationSettingsIn()
    quiet = None
    if body.quiet_start and body.quiet_end:
        quiet = (parse_hhmm(body.quiet_start), parse_hhmm(body.quiet_end), zone(body.timezone))
    return Prefs(
        enabled=frozenset(Trigger(t) for t in body.enabled_triggers),
        arriving_minutes=body.arriving_minutes,
        quiet=quiet,
        language=body.default_language,
        auto_tracking_links=body.auto_tracking_links,
    )


async def prefs_of(session: AsyncSession, org_id: int) -> Prefs:
    return _prefs(await session.get(NotificationSettings, org_id))


async def get_settings(session: AsyncSession, org_id: int) -> NotificationSettingsIn:
    row = await session.get(NotificationSettings, org_id)
    if row is None:
        return NotificationSettingsIn()
    return NotificationSettingsIn.model_validate(row, from_attributes=True)


async def put_settings(
    session: AsyncSession, org_id: int, body: NotificationSettingsIn
) -> NotificationSettingsIn:
    try:
        zone(body.timezone)
    except QuietHoursError as exc:
        raise UnprocessableError(f"timezone: {exc}") from None
    row = await session.get(NotificationSettings, org_id)
    if row is None:
        row = NotificationSettings(org_id=org_id, enabled_triggers=[])
    for name, value in body.model_dump().items():
        setattr(row, name, value)
    row.updated_at = utcnow()
    session.add(row)
    await session.flush()
    return body


async def _template_row(
    session: AsyncSession, org_id: int, key: str, language: str
) -> NotificationTemplate | None:
    """The organisation's own text of notice ``key`` in ``language``, if it has one."""
    return (
        await session.exec(
            select(NotificationTemplate).where(
                NotificationTemplate.org_id == org_id,
                NotificationTemplate.key == key,
                NotificationTemplate.language == language,
            )
        )
    ).first()


async def own_text(
    session: AsyncSession, org_id: int, key: str, language: str
) -> NoticeText | None:
    row = await _template_row(session, org_id, key, language)
    return NoticeText(row.subject, row.email, row.sms) if row else None


async def get_template(
    session: AsyncSession, org_id: int, key: str, language: str
) -> NotificationTemplateOut:
    """The organisation's text, else the shipped one (in ``language`` or the fallback)."""
    own = await own_text(session, org_id, key, language)
    if own is not None:
        return NotificationTemplateOut(
            key=key,
            language=language,
            custom=True,
            subject=own.subject,
            email=own.email,
            sms=own.sms,
        )
    shipped = DEFAULTS.get(language, {}).get(key) or DEFAULTS[FALLBACK_LANGUAGE].get(key)
    if shipped is None:
        raise NotFoundError(f"no notice is called {key!r}")
    return NotificationTemplateOut(
        key=key,
        language=language,
        custom=False,
        subject=shipped.subject,
        email=shipped.email,
        sms=shipped.sms,
    )


async def put_template(
    session: AsyncSession, org_id: int, key: str, language: str, text: NoticeText
) -> NotificationTemplateOut:
    """Store the organisation's text after checking it: a template naming a variable
    notices do not have, or not parsing, is refused now (422), not when sending."""
    try:
        check_text(key, language, text)
    except TemplateError as exc:
        raise UnprocessableError(str(exc)) from None
    row = await _template_row(session, org_id, key, language) or NotificationTemplate(
        org_id=org_id, key=key, language=language, subject="", email="", sms=""
    )
    row.subject, row.email, row.sms, row.updated_at = text.subject, text.email, text.sms, utcnow()
    session.add(row)
    await session.flush()
    return await get_template(session, org_id, key, language)


async def delete_template(session: AsyncSession, org_id: int, key: str, language: str) -> None:
    row = await _template_row(session, org_id, key, language)
    if row is None:
        raise NotFoundError(f"the organisation has no own {language} text for {key!r}")
    await session.delete(row)
    await session.flush()


def normalise_address(address: str) -> str:
    """An email address lower-cased; a phone number with only its digits and leading +."""
    address = address.strip()
    if "@" in address:
        return address.lower()
    return "".join(c for i, c in enumerate(address) if c.isdigit() or (c == "+" and i == 0))


async def opted_out(session: AsyncSession, org_id: int, addresses: list[str]) -> set[str]:
    """Which of ``addresses`` (normalised) opted out of the organisation's notices."""
    if not addresses:
        return set()
    rows = await session.exec(
        select(NotificationOptOut.address).where(
            NotificationOptOut.org_id == org_id,
            col(NotificationOptOut.address).in_(addresses),
        )
    )
    return set(rows.all())


async def opt_out(session: AsyncSession, order: Order) -> list[str]:
    """The order's phone and email get no more notices from its organisation; the
    addresses opted out (again is fine)."""
    addresses = [normalise_address(a) for a in (order.recipient_phone, order.recipient_email) if a]
    addresses = [a for a in addresses if a]
    known = await opted_out(session, order.org_id, addresses)
    for address in addresses:
        if address not in known:
            session.add(NotificationOptOut(org_id=order.org_id, address=address, order_id=order.id))
    # What still waits to go to these addresses (held in quiet hours, a retry) will not.
    raw = [a.strip() for a in (order.recipient_phone, order.recipient_email) if a]
    await session.exec(
        update(Notification)
        .where(
            col(Notification.org_id) == order.org_id,
            col(Notification.status) == NotificationStatus.PENDING,
            col(Notification.recipient).in_(raw),
        )
        .values(status=NotificationStatus.SKIPPED, last_error="the customer opted out")
    )
    await session.flush()
    return addresses
