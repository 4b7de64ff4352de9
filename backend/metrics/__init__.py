"""Prometheus metrics of a backend process (``GET /metrics``)."""
