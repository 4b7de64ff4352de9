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
