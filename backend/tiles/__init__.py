"""Map tiles rendered from the region's own OpenStreetMap extract."""
