"""The senders and the worker a deployment's settings call for."""

from sqlalchemy.ext.asyncio import AsyncEngine

from backend.config import Settings
from backend.notifications.senders import (
    HttpSmsGateway,
    LogSms,
    Sender,
    SmtpConfig,
    SmtpEmail,
)
from backend.notifications.worker import NotificationWorker
from shared.enums import NotificationChannel


def senders_for(settings: Settings) -> dict[NotificationChannel, Sender]:
    senders: dict[NotificationChannel, Sender] = {}
    if settings.sms_gateway_url:
        token = settings.sms_gateway_token
        senders[NotificationChannel.SMS] = HttpSmsGateway(
            settings.sms_gateway_url, token.get_secret_value() if token else None
        )
    else:
        senders[NotificationChannel.SMS] = LogSms()
    if settings.smtp_host:
        password = settings.smtp_password
        senders[NotificationChannel.EMAIL] = SmtpEmail(
            SmtpConfig(
                host=settings.smtp_host,
                port=settings.smtp_port,
                sender=settings.email_from,
                username=settings.smtp_username,
                password=password.get_secret_value() if password else None,
                starttls=settings.smtp_starttls,
            )
        )
    return senders


def worker_for(settings: Settings, engine: AsyncEngine) -> NotificationWorker:
    return NotificationWorker(
        engine,
        senders_for(settings),
        poll_s=settings.notify_poll_s,
        max_attempts=settings.notify_max_attempts,
        retry_base_s=settings.notify_retry_base_s,
    )
