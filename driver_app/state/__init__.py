"""Plain classes holding the driver app's behaviour; no Flet, no page."""
