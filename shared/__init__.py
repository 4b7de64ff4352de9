"""Lastmile's wire contract and pure helpers, shared by the backend and both apps.

Imports only the standard library, pydantic and httpx.
"""
