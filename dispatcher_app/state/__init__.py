"""Plain classes holding the dispatcher app's behaviour; no Flet, no page."""
