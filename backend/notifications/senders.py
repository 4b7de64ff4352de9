"""Where messages leave the platform: one :class:`Sender` per channel.

* SMS: :class:`LogSms` (the default: the message is written to the log, for a box with no
  SMS provider yet) or :class:`HttpSmsGateway` (``LASTMILE_SMS_GATEWAY_URL``: a JSON POST
  any provider or a small adapter in front of one can take).
* Email: :class:`SmtpEmail` (``LASTMILE_SMTP_HOST``...), or nothing when no server is set.

A sender raises :class:`TemporarySendError` for what may work later (network, a 5xx,
a 429) and :class:`PermanentSendError` for what never will (a refused address, a 4xx).
Each message carries its outbox id: the gateway gets it as ``Idempotency-Key`` and the
email as its ``Message-ID``, so a message re-sent after a worker died between sending and
recording it can be recognised downstream.
"""

import asyncio
import logging
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate
from typing import Protocol

import httpx

from backend.log_redaction import redact

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Outgoing:
    notification_id: int
    recipient: str
    subject: str
    body: str


class TemporarySendError(Exception):
    """Try again later."""


class PermanentSendError(Exception):
    """This message will never go through this channel."""


class Sender(Protocol):
    async def send(self, message: Outgoing) -> None: ...

    async def aclose(self) -> None: ...


class LogSms:
    """Writes each SMS to the log instead of sending it (no provider configured)."""

    async def send(self, message: Outgoing) -> None:
        log.info(
            "SMS to %s (notification %d): %s",
            message.recipient,
            message.notification_id,
            redact(message.body),  # the tracking link in it is the customer's key
        )

    async def aclose(self) -> None:
        return None


class HttpSmsGateway:
    """POSTs ``{"id", "to", "text"}`` as JSON to ``url`` (bearer ``token`` if set)."""

    def __init__(self, url: str, token: str | None = None, timeout_s: float = 10.0) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._url = url
        self._client = httpx.AsyncClient(headers=headers, timeout=timeout_s)

    async def send(self, message: Outgoing) -> None:
        body = {"id": str(message.notification_id), "to": message.recipient, "text": message.body}
        try:
            response = await self._client.post(
                self._url,
                json=body,
                headers={"Idempotency-Key": f"lastmile-{message.notification_id}"},
            )
        except httpx.HTTPError as exc:
            raise TemporarySendError(f"SMS gateway unreachable: {exc!r}") from exc
        if response.is_success:
            return
        detail = f"SMS gateway answered {response.status_code}: {response.text[:200]}"
        if response.status_code == 429 or response.status_code >= 500:
            raise TemporarySendError(detail)
        raise PermanentSendError(detail)

    async def aclose(self) -> None:
        await self._client.aclose()


@dataclass(frozen=True, slots=True)
class SmtpConfig:
    host: str
    port: int = 25
    sender: str = "Lastmile <no-reply@localhost>"
    username: str | None = None
    password: str | None = None
    starttls: bool = False
    timeout_s: float = 15.0


class SmtpEmail:
    """Sends each message over SMTP, one connection per message (messages are few; a
    held connection would time out between them). The blocking client runs in a thread."""

    def __init__(self, config: SmtpConfig) -> None:
        self._config = config

    async def send(self, message: Outgoing) -> None:
        await asyncio.to_thread(self._send, message)

    def _send(self, message: Outgoing) -> None:
        c = self._config
        email = EmailMessage()
        email["From"] = c.sender
        email["To"] = message.recipient
        email["Subject"] = message.subject
        email["Date"] = formatdate(usegmt=True)
        domain = c.sender.rsplit("@", 1)[-1].strip(" >") or "localhost"
        email["Message-ID"] = f"<notification-{message.notification_id}@{domain}>"
        email.set_content(message.body)
        try:
            with smtplib.SMTP(c.host, c.port, timeout=c.timeout_s) as smtp:
                if c.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if c.username:
                    smtp.login(c.username, c.password or "")
                smtp.send_message(email)
        except smtplib.SMTPAuthenticationError as exc:  # the operator can fix the login
            raise TemporarySendError(f"the mail server refused our login: {exc.smtp_code}") from exc
        except smtplib.SMTPRecipientsRefused as exc:
            raise PermanentSendError(f"the mail server refused {message.recipient}") from exc
        except smtplib.SMTPResponseException as exc:
            detail = f"the mail server answered {exc.smtp_code}: {exc.smtp_error!r}"
            if 500 <= exc.smtp_code < 600:
                raise PermanentSendError(detail) from exc
            raise TemporarySendError(detail) from exc
        except (OSError, smtplib.SMTPException) as exc:
            raise TemporarySendError(f"mail server unreachable: {exc!r}") from exc

    async def aclose(self) -> None:
        return None
