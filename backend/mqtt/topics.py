"""Which topics the backend subscribes to and what a topic names (pure).

- ``{prefix}/{org}/drivers/{device}/locations``: our driver app; ``{org}`` is the
  organisation's slug, ``{device}`` a registered device identifier.
- ``owntracks/{user}/{device}``: OwnTracks in MQTT mode (its default topic); the registered
  identifier is ``{user}:{device}``, else ``{user}`` (as in its HTTP mode).

With ``shared_group`` the subscriptions are MQTT shared subscriptions
(``$share/{group}/...``): with several backend processes each message goes to one of them.
"""

from dataclasses import dataclass

OWNTRACKS = "owntracks"


@dataclass(frozen=True, slots=True)
class LastmileTopic:
    org_slug: str
    device: str


@dataclass(frozen=True, slots=True)
class OwnTracksTopic:
    user: str
    device: str

    def identifiers(self) -> tuple[str, str]:
        """The device identifiers to look up, most specific first."""
        return f"{self.user}:{self.device}", self.user


def filters(prefix: str, shared_group: str | None) -> list[str]:
    """The topic filters to subscribe to."""
    plain = [f"{prefix}/+/drivers/+/locations", f"{OWNTRACKS}/+/+"]
    if not shared_group:
        return plain
    return [f"$share/{shared_group}/{topic}" for topic in plain]


def parse_topic(topic: str, prefix: str) -> LastmileTopic | OwnTracksTopic | None:
    """What ``topic`` names, or None for a topic of neither scheme (or with empty levels)."""
    levels = topic.split("/")
    if any(not level for level in levels):
        return None
    if len(levels) == 5 and levels[0] == prefix and levels[2:5:2] == ["drivers", "locations"]:
        return LastmileTopic(levels[1], levels[3])
    if len(levels) == 3 and levels[0] == OWNTRACKS:
        return OwnTracksTopic(levels[1], levels[2])
    return None
