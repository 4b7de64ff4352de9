"""``python -m tests.driver_app.sync_child URL EMAIL PASSWORD QUEUE``: sign in and send the
queue to a real server until killed (a phone app killed mid-sync, for test_sync_backend)."""

import asyncio
import sys

from driver_app.services.outbox import Outbox
from driver_app.services.sender import ApiSender
from driver_app.state.sync import SyncLoop
from shared.api_client import ApiClient


async def main(base_url: str, email: str, password: str, queue: str) -> None:
    async with ApiClient(base_url) as client:
        await client.login(email, password)
        async with await Outbox.open(queue) as outbox:
            sync = SyncLoop(outbox, ApiSender(client))
            sync.start()
            print("sending", flush=True)
            await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:5]))
