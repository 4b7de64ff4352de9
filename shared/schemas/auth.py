from pydantic import BaseModel

from shared.enums import Role
from shared.schemas.common import Email, OutModel, StrictModel


class TokenPair(BaseModel):
    access_token: str
    refresh_token: str
    token_type: str = "bearer"
    expires_in: int


class RefreshRequest(StrictModel):
    refresh_token: str


class UserCreate(StrictModel):
    email: Email
    password: str
    full_name: str = ""
    role: Role


class UserOut(OutModel):
    id: int
    org_id: int
    email: str
    full_name: str
    role: Role
    is_active: bool


class Me(OutModel):
    """The signed-in user, with the driver profile when the user drives."""

    id: int
    org_id: int
    org_slug: str
    email: str
    full_name: str
    role: Role
    driver_id: int | None = None
