"""Thin Flet components that render the state and call its methods."""
