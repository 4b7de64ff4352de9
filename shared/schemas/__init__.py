"""Pydantic models exchanged between the backend and its clients."""
