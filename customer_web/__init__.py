"""The customer tracking page: static files the backend serves at ``/t/{token}``."""

from pathlib import Path

STATIC_DIR = Path(__file__).with_name("static")
