"""The server, as the offline queue sees it: a port and its adapter over :class:`ApiClient`.

A send raises what :class:`ApiClient` raises: ``httpx.TransportError`` when nobody answered,
:class:`ApiError` (or :class:`AuthError`) when the server refused.
"""

from typing import Any, Protocol

from driver_app.logic.actions import (
    FailureAction,
    Files,
    ProofAction,
    ScanAction,
    TransitionAction,
)
from driver_app.services.outbox import QueuedAction
from shared.api_client import ApiClient
from shared.schemas.locations import FixIn, IngestResponse
from shared.schemas.orders import TransitionRequest


class Sender(Protocol):
    @property
    def base_url(self) -> str: ...

    async def send(self, item: QueuedAction, files: Files) -> dict[str, Any]:
        """Send one queued action with its client id; the server's answer as JSON."""
        ...

    async def send_fixes(self, fixes: list[FixIn]) -> IngestResponse: ...

    async def refresh(self) -> None:
        """A new access token; :class:`AuthError` when the session is over."""
        ...


class ApiSender:
    """Sends queued actions through the typed API client."""

    def __init__(self, client: ApiClient) -> None:
        self._client = client

    @property
    def base_url(self) -> str:
        return self._client.base_url

    async def send(self, item: QueuedAction, files: Files) -> dict[str, Any]:
        client, client_id = self._client, item.client_id
        match item.action:
            case TransitionAction() as a:
                request = TransitionRequest(
                    to=a.to, reason=a.reason, lat=a.lat, lng=a.lng, client_id=client_id
                )
                return (await client.transition(a.order_id, request)).model_dump(mode="json")
            case ProofAction() as a:
                proof = await client.record_pod(
                    a.order_id,
                    client_id,
                    photos=files.get("photos", []),
                    signature_png=_first(files, "signature_png"),
                    signature=a.signature,
                    recipient_name=a.recipient_name,
                    barcodes=a.barcodes,
                    pin=a.pin,
                    age_checked=a.age_checked,
                    notes=a.notes,
                    lat=a.lat,
                    lng=a.lng,
                )
                return proof.model_dump(mode="json")
            case FailureAction() as a:
                failure = await client.report_failure(
                    a.order_id,
                    client_id,
                    reason=a.reason,
                    note=a.note,
                    photos=files.get("photos", []),
                    lat=a.lat,
                    lng=a.lng,
                )
                return failure.model_dump(mode="json")
            case ScanAction() as a:
                image = _first(files, "image")
                scan = await client.scan_parcels(a.order_id, codes=a.codes, image=image)
                return scan.model_dump(mode="json")

    async def send_fixes(self, fixes: list[FixIn]) -> IngestResponse:
        return await self._client.send_fixes(fixes)

    async def refresh(self) -> None:
        await self._client.refresh()


def _first(files: Files, field: str) -> bytes | None:
    contents = files.get(field)
    return contents[0] if contents else None
