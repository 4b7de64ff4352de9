"""Pure functions: ordering stops, picking the next one, formatting for people."""
