"""The history table's name and the columns a fix is written to, in the order the raw
writers (SQLite's child process, PostgreSQL's COPY) lay out each row."""

TABLE = "location_fixes"
COLUMNS = (
    "org_id",
    "driver_id",
    "recorded_at",
    "received_at",
    "lat",
    "lng",
    "speed_mps",
    "heading_deg",
    "accuracy_m",
    "altitude_m",
    "battery",
    "source",
)
