"""Queueing a customer notice: rendered and written in the caller's transaction.

A notice is written to the ``notifications`` table (the outbox) in the same transaction
as what caused it, so it exists if and only if that change was committed; the worker
(:mod:`backend.notifications.worker`) sends it afterwards. One row per channel the
customer can be reached on (SMS to ``recipient_phone``, email to ``recipient_email``
when a mail server is configured). ``dedupe`` names what the notice is about: queueing the
same notice twice (a replayed request) adds nothing.

The organisation's settings apply here (:mod:`backend.notifications.prefs`): its own
text for the notice in its language; an address that opted out gets a ``skipped`` row
saying so (the dispatcher sees why nothing went); in quiet hours the row waits until they
end, except a notice that would be wrong by then (``arriving``), skipped with the reason.
"""

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.config import Settings
from backend.db import after_commit_do
from backend.models import Notification, Order, Organization, TrackingLink
from backend.models.types import utcnow
from backend.notifications.prefs import normalise_address, opted_out, own_text, prefs_of
from backend.notifications.quiet_hours import quiet_until
from backend.notifications.templates import DEFAULTS, FALLBACK_LANGUAGE, REASON_TEXT, render
from backend.notifications.triggers import trigger_of
from backend.tracking_links.service import link_url
from shared.enums import NotificationChannel, NotificationStatus

# Notices that would be wrong by the time quiet hours end: skipped, not held.
STALE_AFTER_QUIET = frozenset({"arriving"})

Wake = Callable[[], Awaitable[None]]
log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Notices:
    """What queueing needs from the deployment (where tracking links point, the language,
    which channels can send) and how to wake the worker once the transaction commits."""

    settings: Settings
    wake: Wake | None = None

    @property
    def channels(self) -> frozenset[NotificationChannel]:
        """SMS always (to the log when no gateway is set); email with a mail server."""
        email = {NotificationChannel.EMAIL} if self.settings.smtp_host else set()
        return frozenset({NotificationChannel.SMS, *email})

    async def queue(
        self,
        session: AsyncSession,
        order: Order,
        key: str,
        dedupe: str,
        *,
        reason: str | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> list[Notification]:
        """Queue notice ``key`` about ``order`` on every channel the customer has;
        ``extra`` fills the notice's own variables (``minutes_away``)."""
        assert order.id is not None
        addresses = {
            NotificationChannel.SMS: (order.recipient_phone or "").strip(),
            NotificationChannel.EMAIL: (order.recipient_email or "").strip(),
        }
        wanted = {c: a for c, a in addresses.items() if a and c in self.channels}
        if not wanted:
            return []
        keys = {c: f"{dedupe}:{c.value}" for c in wanted}
        seen = set(
            (
                await session.exec(
                    select(Notification.dedupe_key).where(
                        col(Notification.dedupe_key).in_(list(keys.values()))
                    )
                )
            ).all()
        )
        if seen.issuperset(keys.values()):
            return []
        org = await session.get(Organization, order.org_id)
        prefs = await prefs_of(session, order.org_id)
        if trigger_of(key) not in prefs.enabled:
            return []
        values: dict[str, Any] = {
            **(extra or {}),
            "recipient_name": order.recipient_name,
            "org_name": org.name if org else "",
            "reference": order.reference or f"#{order.id}",
            "tracking_url": await self._tracking_url(session, order),
            "reason_text": REASON_TEXT.get(reason or "", REASON_TEXT["other"]),
        }
        language = order.language or prefs.language or self.settings.notify_language
        own = await own_text(session, order.org_id, key, language)
        if own is None and key not in DEFAULTS.get(language, {}):  # the fallback's own text
            fallback = await own_text(session, order.org_id, key, FALLBACK_LANGUAGE)
            if fallback is not None:
                language, own = FALLBACK_LANGUAGE, fallback
        try:
            text = render(key, values, language, own=own)
        except Exception:  # checked when saved; should it still fail, the shipped text goes
            log.exception(
                "notice %s: the organisation's %s text failed; sent the shipped one", key, language
            )
            text = render(key, values, language)
        blocked = await opted_out(
            session, order.org_id, [normalise_address(a) for a in wanted.values()]
        )
        now = utcnow()
        held = quiet_until(now, *prefs.quiet) if prefs.quiet else None
        queued: list[Notification] = []
        for channel, address in wanted.items():
            if keys[channel] in seen:
                continue
            row = Notification(
                org_id=order.org_id,
                order_id=order.id,
                channel=channel,
                recipient=address,
                template=key,
                language=text.language,
                subject=text.subject if channel is NotificationChannel.EMAIL else "",
                body=text.email if channel is NotificationChannel.EMAIL else text.sms,
                dedupe_key=keys[channel],
                next_attempt_at=now,
            )
            if normalise_address(address) in blocked:
                row.status, row.last_error = NotificationStatus.SKIPPED, "the customer opted out"
            elif held is not None and key in STALE_AFTER_QUIET:
                row.status = NotificationStatus.SKIPPED
                row.last_error = f"quiet hours (until {held.isoformat()}): it would be stale"
            elif held is not None:
                row.next_attempt_at = held  # held, not dropped: sent when quiet hours end
            queued.append(row)
        session.add_all(queued)
        await session.flush()
        if self.wake is not None:
            after_commit_do(session, self.wake)
        return queued

    async def _tracking_url(self, session: AsyncSession, order: Order) -> str | None:
        """The order's newest live tracking link (a notice never mints one: who may see
        the order is the dispatcher's decision)."""
        link = (
            await session.exec(
                select(TrackingLink)
                .where(
                    TrackingLink.order_id == order.id,
                    col(TrackingLink.revoked).is_(False),
                    TrackingLink.expires_at > utcnow(),
                )
                .order_by(col(TrackingLink.id).desc())
            )
        ).first()
        if link is None:
            return None
        return link_url(self.settings, link.token)
