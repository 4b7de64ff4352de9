"""PostGIS where it helps: zone and nearest-driver queries done in SQL on a PostgreSQL
database with the extension, with the same answers as the Python path every other
database uses (:mod:`backend.spatial.postgis`)."""
