"""Building blocks of every schema: strict models, coordinates, pages, errors."""

from datetime import datetime
from typing import Annotated, Any

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

Latitude = Annotated[
    float, Field(ge=-90.0, le=90.0, allow_inf_nan=False, description="WGS84 degrees")
]
Longitude = Annotated[
    float, Field(ge=-180.0, le=180.0, allow_inf_nan=False, description="WGS84 degrees")
]
UtcDatetime = AwareDatetime
# Deliberately loose (one @, a dot in the domain): self-hosted teams use internal domains
# such as .local or .test, which strict validators refuse. Delivery is what really checks.
Email = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, to_lower=True, max_length=320, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
    ),
]


class StrictModel(BaseModel):
    """Input models: unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid")


def not_null(value: Any) -> Any:
    """For update models' fields that may be left out but never set to null (the stored
    value must exist): ``field_validator("name", ...)(not_null)``. A left-out field keeps
    its default and is not validated, so only an explicit null is refused."""
    if value is None:
        raise ValueError("may be left out, but not null")
    return value


def never_null(*fields: str) -> ConfigDict:
    """The config of an update model whose ``fields`` may be left out but not set to null
    (checked by :func:`not_null`): the API document offers them without null, so clients
    generated from it do not send one."""

    def drop_null(schema: dict[str, Any]) -> None:
        for name in fields:
            prop = schema["properties"][name]
            options = [o for o in prop.get("anyOf", ()) if o.get("type") != "null"]
            if len(options) == 1:
                del prop["anyOf"]
                prop.update(options[0])
            elif options:
                prop["anyOf"] = options

    return ConfigDict(extra="forbid", json_schema_extra=drop_null)


class OutModel(BaseModel):
    """Output models: read from ORM objects, tolerant of fields added by newer servers."""

    model_config = ConfigDict(from_attributes=True, extra="ignore")


class TimeWindow(StrictModel):
    """A window in which a stop may be served. Both ends timezone-aware."""

    start: UtcDatetime
    end: UtcDatetime

    @model_validator(mode="after")
    def _end_after_start(self) -> "TimeWindow":
        if self.end <= self.start:
            raise ValueError("time window end must be after its start")
        return self


class TimeWindowOut(OutModel):
    start: datetime
    end: datetime


class Page[T](BaseModel):
    """One page of a list endpoint."""

    items: list[T]
    total: int
    limit: int
    offset: int


class ErrorBody(BaseModel):
    code: str
    message: str
    details: Any = None


class ErrorResponse(BaseModel):
    """Every error the API returns has this shape."""

    error: ErrorBody
