"""The notification tests' peers: a real SMTP server and a real HTTP SMS gateway."""

from collections.abc import Iterator

import pytest

from tests.backend.notifications.peers import Gateway, Mailbox, sms_gateway, smtp_server


@pytest.fixture(scope="module")
def peers() -> Iterator[tuple[Mailbox, int, Gateway, str]]:
    """(mailbox, SMTP port, gateway, gateway URL), for one test module."""
    with smtp_server() as (mailbox, port), sms_gateway() as (gateway, url):
        yield mailbox, port, gateway, url
