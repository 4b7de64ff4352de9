"""Delivery KPIs for the dispatcher (``GET /api/v1/kpis``, with its breakdowns per driver
and per drop-off window slot: ``/kpis/drivers``, ``/kpis/windows``) and the tracking page
visits they count (:mod:`backend.kpis.track_views`)."""
