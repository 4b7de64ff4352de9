"""Column types shared by the tables."""

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, DateTime
from sqlalchemy import Enum as SAEnum
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every database.

    PostgreSQL stores ``timestamptz`` (an instant; asyncpg returns it aware, converted to
    UTC here whatever the session's time zone). SQLite keeps no zone, so values are stored
    as naive UTC and come back aware.
    Naive input is refused: a naive time is a bug waiting for a daylight-saving change.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


JSONType: Any = JSON


def utcnow() -> datetime:
    return datetime.now(UTC)


def enum_type(enum_cls: type[StrEnum], length: int = 30) -> SAEnum:
    """A string column holding ``enum_cls`` values; rows come back as enum members.

    Not a native database enum and no CHECK constraint, so adding a value later needs no
    schema migration on PostgreSQL.
    """
    return SAEnum(
        enum_cls,
        native_enum=False,
        create_constraint=False,
        length=length,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


# SQLite otherwise hands a deleted row's id to the next row; ids name live channels and
# links, so an id must never come to mean another (another organisation's) object.
# (PostgreSQL's sequences never go back; other dialects ignore this option.)
NEVER_REUSE_IDS: Any = {"sqlite_autoincrement": True}
