"""Lastmile backend: FastAPI + SQLModel."""

__version__ = "0.1.0"
