"""Geofences: shapes, a spatial index, the enter/exit/dwell engine and off-route detection
(pure code)."""
