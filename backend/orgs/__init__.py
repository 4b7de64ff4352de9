"""The organisation: its name and its settings."""
