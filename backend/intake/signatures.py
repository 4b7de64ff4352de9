"""The signature shops put on their webhooks: ``base64(HMAC-SHA256(secret, raw body))``.

Shopify sends it as ``X-Shopify-Hmac-Sha256``, WooCommerce as ``X-WC-Webhook-Signature``.
It is computed over the body's bytes exactly as received, never over re-encoded JSON.
"""

import base64
import hashlib
import hmac


def sign(secret: str, body: bytes) -> str:
    """The signature a shop holding ``secret`` puts on ``body``."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def verify(secret: str, body: bytes, signature: str) -> bool:
    """Whether ``signature`` is ``body`` signed with ``secret`` (constant-time)."""
    return hmac.compare_digest(sign(secret, body).encode(), signature.strip().encode())
