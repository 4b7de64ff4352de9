"""Customer notices over HTTP: what the customer was told about an order (dispatchers),
the organisation's notice settings and templates (admins), and the customer's opt-out
from the tracking page (no account: the link's token)."""

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel
from sqlmodel import col, select

from backend.deps import AdminUser, SessionDep, StaffUser, StateDep
from backend.models import Notification, Order
from backend.notifications import prefs
from backend.notifications.templates import NoticeText
from backend.orders.scope import get_visible_order
from backend.responses import ERRORS
from backend.tracking_links.router import caller
from backend.tracking_links.service import resolve
from shared.schemas.notifications import (
    NotificationOut,
    NotificationSettingsIn,
    NotificationSettingsOut,
    NotificationTemplateIn,
    NotificationTemplateOut,
)

router = APIRouter(tags=["notifications"])


@router.get(
    "/orders/{order_id}/notifications",
    response_model=list[NotificationOut],
    responses=ERRORS(401, 403, 404),
)
async def order_notifications(
    order_id: int, principal: StaffUser, session: SessionDep
) -> list[Notification]:
    """The customer messages about this order, oldest first: the text as sent, the
    channel and address, and how sending went (``pending`` with the attempts so far, the
    last error and the next attempt; ``sent``; ``failed`` for good; or ``skipped`` with
    why: the customer opted out, or an "arriving" notice fell in quiet hours)."""
    order = await get_visible_order(session, principal, order_id)
    rows = await session.exec(
        select(Notification).where(Notification.order_id == order.id).order_by(col(Notification.id))
    )
    return list(rows.all())


@router.get(
    "/notifications/settings",
    response_model=NotificationSettingsOut,
    responses=ERRORS(401, 403),
)
async def get_notification_settings(
    principal: AdminUser, session: SessionDep
) -> NotificationSettingsIn:
    """The organisation's customer-notice settings: the triggers that send, how many
    minutes before arrival the "arriving" notice goes, the quiet hours (local HH:MM in
    ``timezone``), the default language, and whether the "scheduled" notice creates a
    tracking link."""
    return await prefs.get_settings(session, principal.org_id)


@router.put(
    "/notifications/settings",
    response_model=NotificationSettingsOut,
    responses=ERRORS(401, 403, 422),
)
async def put_notification_settings(
    body: NotificationSettingsIn, principal: AdminUser, session: SessionDep
) -> NotificationSettingsIn:
    """Replace the organisation's customer-notice settings (an unknown time zone: 422)."""
    return await prefs.put_settings(session, principal.org_id, body)


@router.get(
    "/notifications/templates/{key}/{language}",
    response_model=NotificationTemplateOut,
    responses=ERRORS(401, 403, 404),
)
async def get_notification_template(
    key: str, language: str, principal: AdminUser, session: SessionDep
) -> NotificationTemplateOut:
    """The text of notice ``key`` in ``language``: the organisation's own (``custom``)
    or the shipped one (``custom`` false; in English when there is none in
    ``language``)."""
    return await prefs.get_template(session, principal.org_id, key, language[:16])


@router.put(
    "/notifications/templates/{key}/{language}",
    response_model=NotificationTemplateOut,
    responses=ERRORS(401, 403, 422),
)
async def put_notification_template(
    key: str, language: str, body: NotificationTemplateIn, principal: AdminUser, session: SessionDep
) -> NotificationTemplateOut:
    """Store the organisation's own text (Jinja2) for notice ``key`` in ``language``.
    Checked now: a template that does not parse, or names a variable notices do not have,
    is refused with a 422 naming it, never at send time."""
    text = NoticeText(body.subject, body.email, body.sms)
    return await prefs.put_template(session, principal.org_id, key, language[:16], text)


@router.delete(
    "/notifications/templates/{key}/{language}",
    status_code=204,
    responses=ERRORS(401, 403, 404),
)
async def delete_notification_template(
    key: str, language: str, principal: AdminUser, session: SessionDep
) -> Response:
    """Drop the organisation's own text: the shipped one applies again."""
    await prefs.delete_template(session, principal.org_id, key, language[:16])
    return Response(status_code=204)


class OptOutOut(BaseModel):
    opted_out: bool


@router.post(
    "/track/{token}/opt-out",
    response_model=OptOutOut,
    tags=["tracking"],
    responses={
        **ERRORS(404),
        410: {"description": "The link has expired"},
        429: {"description": "Too many unknown tracking links tried from this address"},
    },
)
async def opt_out(token: str, request: Request, session: SessionDep, state: StateDep) -> OptOutOut:
    """The customer of this tracking link gets no more messages from the organisation
    (neither its phone number nor its email address): what still waits to go to them and
    every later notice is ``skipped``, with the reason, in the order's notifications."""
    link = await resolve(session, token, state.guesses, caller(request))
    order = await session.get(Order, link.order_id)
    assert order is not None
    await prefs.opt_out(session, order)
    return OptOutOut(opted_out=True)
