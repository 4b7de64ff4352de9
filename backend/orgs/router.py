"""``/api/v1/organization``: the caller's organisation (read: anyone signed in; change: admins)."""

from fastapi import APIRouter

from backend.deps import AdminUser, CurrentUser, SessionDep
from backend.models import Organization
from backend.responses import ERRORS
from shared.schemas.organizations import OrganizationOut, OrganizationUpdate

router = APIRouter(prefix="/organization", tags=["organization"])


async def _mine(session: SessionDep, org_id: int) -> Organization:
    org = await session.get(Organization, org_id)
    assert org is not None  # a signed-in principal's organisation exists
    return org


@router.get("", response_model=OrganizationOut, responses=ERRORS(401))
async def get_organization(principal: CurrentUser, session: SessionDep) -> OrganizationOut:
    """Your organisation and its settings."""
    return OrganizationOut.model_validate(await _mine(session, principal.org_id))


@router.patch("", response_model=OrganizationOut, responses=ERRORS(401, 403, 422))
async def update_organization(
    body: OrganizationUpdate, admin: AdminUser, session: SessionDep
) -> OrganizationOut:
    """Rename the organisation, switch auto-dispatch of new orders on or off, or set how
    the customer tracking page looks (brand colour, logo, proof photo shown) and how long
    its links work after the order is finished. ``shop_webhook_secret`` is the secret
    the shop signs its order webhooks with: never answered back (the answer says
    ``shop_webhook_configured``); an empty string switches shop order intake off."""
    org = await _mine(session, admin.org_id)
    for key, value in body.model_dump(exclude_unset=True, exclude_none=True).items():
        if key == "shop_webhook_secret":
            value = value or None  # "": shop order intake off
        setattr(org, key, value)
    session.add(org)
    await session.flush()
    return OrganizationOut.model_validate(org)
