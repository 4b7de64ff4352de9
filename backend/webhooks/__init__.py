"""Webhooks: organisations' own systems hear of events (orders, drivers, routes) as
signed HTTP POSTs, queued in the event's transaction and retried for a day.

``url_guard`` (where a URL may point), ``event_types`` (pure mapping and payload),
``outbox`` (queueing), ``sender`` (one signed POST), ``worker`` (claims, retries),
``service`` and ``router`` (the API). Signing itself is ``shared.webhook_signing``, so
receivers written in Python can use the same code.
"""
