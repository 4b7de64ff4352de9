import secrets
from datetime import datetime

from sqlmodel import Column, Field, SQLModel

from backend.models.types import NEVER_REUSE_IDS, JSONType, UTCDateTime, enum_type, utcnow
from shared.enums import OrderStatus


def new_pin() -> str:
    return f"{secrets.randbelow(10_000):04d}"


class Order(SQLModel, table=True):
    __tablename__ = "orders"
    __table_args__ = NEVER_REUSE_IDS

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organizations.id", index=True)
    reference: str | None = Field(default=None, max_length=100, index=True)
    status: OrderStatus = Field(
        default=OrderStatus.CREATED,
        sa_column=Column(enum_type(OrderStatus), nullable=False, index=True),
    )
    recipient_name: str = Field(max_length=200)
    recipient_phone: str | None = Field(default=None, max_length=40)
    recipient_email: str | None = Field(default=None, max_length=320)
    language: str | None = Field(default=None, max_length=16)  # for notices; None: the org's
    weight_kg: float = 0.0
    volume_m3: float = 0.0
    priority: int = 0
    required_proofs: list[str] = Field(
        default_factory=list, sa_column=Column(JSONType, nullable=False)
    )
    # Soft drop-off window: a minute late costs like this many minutes of driving (None: hard).
    lateness_weight: float | None = None
    # Shown to the customer on the tracking page; told to the driver at the door (a PIN
    # proof). Never in the order as staff or drivers read it.
    delivery_pin: str | None = Field(default_factory=new_pin, max_length=8)
    # What the vehicle must offer (e.g. "fridge", "id_check"); see Vehicle.skills.
    required_skills: list[str] = Field(
        default_factory=list, sa_column=Column(JSONType, nullable=False, server_default="[]")
    )
    notes: str = ""
    instructions: str = ""
    driver_id: int | None = Field(default=None, foreign_key="drivers.id", index=True)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
