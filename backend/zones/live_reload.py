"""Tell this worker's live geofences about a change to an organisation's zones or depots."""

from sqlmodel.ext.asyncio.session import AsyncSession

from backend.db import after_commit_do
from backend.state import AppState


def reload_fences_after_commit(session: AsyncSession, state: AppState, org_id: int) -> None:
    """Once the change is committed and before the answer is sent, this worker's live
    geofences reload ``org_id``'s zones and depots (if a driver of it is active): the
    driver's next fix meets the change. Other workers pick it up at their next periodic
    refresh, within seconds."""
    geofences = state.locations.geofences
    if geofences is not None:
        after_commit_do(session, lambda: geofences.org_fences_changed(org_id))
