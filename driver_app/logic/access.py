"""Who may use the driver app."""

from shared.enums import Role
from shared.schemas.auth import Me


def refusal(me: Me) -> str | None:
    """Why ``me`` cannot use the driver app, or None when they can."""
    if me.role is not Role.DRIVER:
        return (
            f"This app is for drivers; {me.email} is a {me.role.value} account. "
            "Use the dispatcher app instead."
        )
    if me.driver_id is None:
        return "Your login has no driver profile yet; ask a dispatcher to create one."
    return None
