from dataclasses import dataclass

from shared.enums import Role


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: a signed-in user, with their driver profile if they drive."""

    user_id: int
    org_id: int
    role: Role
    driver_id: int | None

    @property
    def is_staff(self) -> bool:
        return self.role in (Role.ADMIN, Role.DISPATCHER)
