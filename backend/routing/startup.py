"""Load the routing at backend start, never failing the start over it.

Blocking (the embedded engine reads the region into memory): the lifespan calls
:func:`load_routing` in a thread.
"""

import logging

from backend.config import Settings
from backend.routing.port import RoutingError
from backend.routing.router import RoadRouter, create_routing, fallback_router

log = logging.getLogger(__name__)


def load_routing(settings: Settings) -> RoadRouter:
    """The configured region's router; the straight-line fallback alone (with a warning)
    when the region is not imported yet or cannot be loaded."""
    try:
        routing = create_routing(settings)
    except RoutingError as exc:
        log.error("routing: %s; using straight-line estimates only", exc)
        return fallback_router(settings)
    if routing is None:
        log.warning(
            "routing: region '%s' is not imported in %s; every time and distance is a "
            "straight-line estimate until you run `lastmile region import FILE.osm.pbf`",
            settings.region,
            settings.regions_dir,
        )
        return fallback_router(settings)
    where = settings.routing_url or str(settings.regions_dir / settings.region)
    log.info("routing: region '%s' loaded (%s)", settings.region, where)
    return routing
