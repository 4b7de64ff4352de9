"""Who may use the dispatcher app."""

from shared.enums import Role
from shared.schemas.auth import Me

STAFF = frozenset({Role.ADMIN, Role.DISPATCHER})


def refusal(me: Me) -> str | None:
    """Why ``me`` cannot use the dispatcher app, or None when they can."""
    if me.role not in STAFF:
        return (
            f"This app is for dispatchers; {me.email} is a {me.role.value} account. "
            "Use the driver app instead."
        )
    return None
