from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from backend.models.types import NEVER_REUSE_IDS


class Barcode(SQLModel, table=True):
    """A parcel label. Unique within an organisation, so a scan names one order."""

    __tablename__ = "barcodes"
    __table_args__ = (
        UniqueConstraint("org_id", "code", name="uq_barcodes_org_code"),
        NEVER_REUSE_IDS,
    )

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organizations.id", index=True)
    order_id: int = Field(foreign_key="orders.id", index=True)
    code: str = Field(max_length=128)
