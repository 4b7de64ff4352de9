"""Geofences: shapes, a spatial index and the enter/exit/dwell engine (pure code)."""
