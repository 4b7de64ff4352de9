"""Reading a parcel's label from a photo: on the server (``POST /orders/{id}/scans``), the
one step at a stop that needs the network. Without it the driver types the code."""

import asyncio
from collections.abc import Awaitable, Callable

import httpx

from shared.api_client import ApiClient, ApiError

NO_SIGNAL = "No signal: type the code printed under the barcode."
SCAN_TIMEOUT_S = 20.0  # a label photo over a weak signal: give up, let the driver type


class LabelUnreadableError(Exception):
    """No code came out of the label photo; the message tells the driver what to do."""


class WrongParcelError(Exception):
    """The label belongs to another order; the message (the server's) says which."""


# ``scan_label(order_id, image)``: the codes read on the label; raises the errors above.
ScanLabel = Callable[[int, bytes], Awaitable[list[str]]]


def server_label_reader(client: ApiClient, timeout_s: float = SCAN_TIMEOUT_S) -> ScanLabel:
    """Reads label photos on the server (``POST /orders/{id}/scans``)."""

    async def read(order_id: int, image: bytes) -> list[str]:
        try:
            async with asyncio.timeout(timeout_s):
                answer = await client.scan_parcels(order_id, image=image)
        except (httpx.TransportError, TimeoutError):
            raise LabelUnreadableError(NO_SIGNAL) from None
        except ApiError as exc:
            if exc.code == "wrong_parcel":
                raise WrongParcelError(exc.message) from None
            if exc.code == "nothing_read":
                raise LabelUnreadableError(
                    "Nothing could be read: hold the label flat and closer, or type the code."
                ) from None
            raise LabelUnreadableError(f"{exc.message}. Type the code instead.") from None
        return [code.text for code in answer.codes]

    return read
