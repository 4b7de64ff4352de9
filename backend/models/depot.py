from sqlmodel import Field, SQLModel

from backend.models.types import NEVER_REUSE_IDS


class Depot(SQLModel, table=True):
    __tablename__ = "depots"
    __table_args__ = NEVER_REUSE_IDS

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organizations.id", index=True)
    name: str = Field(max_length=200)
    address: str = Field(default="", max_length=500)
    lat: float
    lng: float
