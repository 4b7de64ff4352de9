from sqlmodel import Column, Field, SQLModel

from backend.models.types import NEVER_REUSE_IDS, JSONType


class Vehicle(SQLModel, table=True):
    __tablename__ = "vehicles"
    __table_args__ = NEVER_REUSE_IDS

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organizations.id", index=True)
    name: str = Field(max_length=100)
    capacity_weight_kg: float = 0.0
    capacity_volume_m3: float = 0.0
    skills: list[str] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    depot_id: int | None = Field(default=None, foreign_key="depots.id")
