"""Exports: orders and events as CSV, routes as GeoJSON and GPX."""
