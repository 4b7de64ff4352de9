"""OpenStreetMap regions: import an extract once, list what is imported."""
