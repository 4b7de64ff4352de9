"""Orders that arrive from a shop (Shopify, WooCommerce) as signed webhooks."""
