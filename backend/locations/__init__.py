"""Live locations: ingest, cleaning, current positions, history, fan-out."""
