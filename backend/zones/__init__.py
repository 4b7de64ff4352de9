"""Zones and corridors an admin draws; see ``backend.geofencing.org_fences`` for how they
are checked."""
