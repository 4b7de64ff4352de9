"""The signed-in user's organisation and its settings."""

from typing import Annotated

from pydantic import AfterValidator, Field

from shared.schemas.common import OutModel, StrictModel


def _logo_url(value: str | None) -> str | None:
    if value is None or value.startswith(("https://", "http://", "/")):
        return value
    raise ValueError("logo_url: an http(s) address or a path on this server (starting with /)")


def _shop_secret(value: str | None) -> str | None:
    if value is None or value == "" or 16 <= len(value.strip()) == len(value):
        return value
    raise ValueError(
        "shop_webhook_secret: the shop's signing secret, at least 16 characters without "
        "spaces around it; an empty string switches shop order intake off"
    )


HexColour = Annotated[str, Field(pattern=r"^#[0-9a-fA-F]{6}$", description="#rrggbb")]


class OrganizationOut(OutModel):
    id: int
    slug: str
    name: str
    auto_dispatch: bool = Field(
        description="new orders go straight into the best published or running route"
    )
    brand_colour: str | None = Field(
        default=None, description="the tracking page's colour (#rrggbb); empty: the default"
    )
    logo_url: str | None = Field(default=None, description="the tracking page's logo")
    show_proof_photo: bool = Field(
        default=False, description="customers see the delivery photo on their tracking page"
    )
    tracking_hours_after_delivery: float = Field(
        default=72.0,
        description="tracking links keep working this long after the order is finished",
    )
    shop_webhook_configured: bool = Field(
        default=False,
        description="a shop webhook secret is set: signed orders from Shopify or WooCommerce "
        "are received at /api/v1/intake/{shopify|woocommerce}/{slug}",
    )


class OrganizationUpdate(StrictModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    auto_dispatch: bool | None = None
    brand_colour: HexColour | None = None
    logo_url: Annotated[str | None, AfterValidator(_logo_url)] = Field(
        default=None, min_length=1, max_length=500
    )
    show_proof_photo: bool | None = None
    tracking_hours_after_delivery: float | None = Field(default=None, ge=0, le=24 * 90)
    shop_webhook_secret: Annotated[str | None, AfterValidator(_shop_secret)] = Field(
        default=None,
        max_length=200,
        description="the secret the shop signs its order webhooks with (write-only; "
        "an empty string switches shop order intake off)",
    )
