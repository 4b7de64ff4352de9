"""Delivery KPIs for the dispatcher (``GET /api/v1/kpis``) and the tracking page visits
they count (:mod:`backend.kpis.track_views`)."""
