"""The signed-in user's organisation and its settings."""

from pydantic import Field

from shared.schemas.common import OutModel, StrictModel


class OrganizationOut(OutModel):
    id: int
    slug: str
    name: str
    auto_dispatch: bool = Field(
        description="new orders go straight into the best published or running route"
    )


class OrganizationUpdate(StrictModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    auto_dispatch: bool | None = None
