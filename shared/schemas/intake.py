"""What the shop order intake (``/api/v1/intake/...``) answers a shop's webhook."""

from typing import Literal

from pydantic import BaseModel, Field


class ShopIntakeResult(BaseModel):
    """``created`` (201): a new delivery order; ``duplicate``: this shop order was already
    received (``order_id`` is the order it became); ``ignored``: an order that needs no
    delivery, or a webhook topic that carries none (``reason`` says which); ``ping``:
    WooCommerce's test delivery when a webhook is saved. Nothing is stored but for
    ``created``."""

    status: Literal["created", "duplicate", "ignored", "ping"]
    order_id: int | None = None
    reference: str | None = Field(
        default=None, description="the delivery order's reference: shopify-1001, woo-1001"
    )
    reason: str | None = None
