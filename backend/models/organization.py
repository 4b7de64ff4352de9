from datetime import datetime

from sqlalchemy import Boolean, Float, false, text
from sqlmodel import Column, Field, SQLModel

from backend.models.types import NEVER_REUSE_IDS, UTCDateTime, utcnow


class Organization(SQLModel, table=True):
    __tablename__ = "organizations"
    __table_args__ = NEVER_REUSE_IDS

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(max_length=64, unique=True, index=True)
    name: str = Field(max_length=200)
    # New orders go straight into the best active route (see backend.optimization.dispatch).
    auto_dispatch: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default=false())
    )
    # The customer tracking page: the brand's colour (#rrggbb; None: the default) and logo,
    # whether the delivery photo is shown there, and for how long after the order is
    # finished (delivered, returned, cancelled) its links keep working.
    brand_colour: str | None = Field(default=None, max_length=7)
    logo_url: str | None = Field(default=None, max_length=500)
    show_proof_photo: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default=false())
    )
    tracking_hours_after_delivery: float = Field(
        default=72.0, sa_column=Column(Float, nullable=False, server_default=text("72"))
    )
    # Shared with the shop (Shopify, WooCommerce) that signs the orders it posts to
    # ``/api/v1/intake/...`` (backend.intake). Kept as given, like a webhook endpoint's
    # secret: checking an HMAC needs the secret itself. Never shown; None: no intake.
    shop_webhook_secret: str | None = Field(default=None, max_length=200)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )

    @property
    def shop_webhook_configured(self) -> bool:
        return bool(self.shop_webhook_secret)
