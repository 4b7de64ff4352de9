"""Road routing: one port, three engines (embedded OSRM, OSRM over HTTP, straight line)."""
