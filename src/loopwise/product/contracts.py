"""The query objects of the product-analytics API and their results.

Every query has a ``kind``; the API accepts any of them (``Query``) and answers with the
matching result. Field-level validation happens here, so a runner only ever sees a query
that makes sense (dates in order, known operators, a value where one is needed).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Interval = Literal["hour", "day", "week", "month"]
Operator = Literal[
    "exact", "is_not", "icontains", "not_icontains", "regex", "not_regex", "gt", "lt",
    "is_set", "is_not_set", "in",
]  # fmt: skip
MAX_DAYS = 3 * 366
MAX_HOURS_DAYS = 31  # hourly buckets over at most a month


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DateRange(_Strict):
    """Whole local days, ``date_from`` to ``date_to`` inclusive, in ``timezone`` (the
    project's time zone when omitted). Without dates: the last ``last_days`` days, today
    included."""

    date_from: date | None = None
    date_to: date | None = None
    last_days: Annotated[int, Field(ge=1, le=MAX_DAYS)] = 7
    timezone: str | None = Field(default=None, max_length=64)

    @model_validator(mode="after")
    def _ordered(self) -> DateRange:
        if (self.date_from is None) != (self.date_to is None):
            raise ValueError("give both date_from and date_to, or neither")
        if self.date_from and self.date_to:
            if self.date_to < self.date_from:
                raise ValueError("date_to is before date_from")
            if (self.date_to - self.date_from).days >= MAX_DAYS:
                raise ValueError(f"a range may span at most {MAX_DAYS} days")
        return self


class PropertyFilter(_Strict):
    """A condition on an event property. ``gt``/``lt`` compare numbers; ``in`` takes a
    list; ``is_set``/``is_not_set`` take no value; the others take text."""

    key: Annotated[str, Field(min_length=1, max_length=200)]
    operator: Operator = "exact"
    value: str | float | list[str] | None = None

    @model_validator(mode="after")
    def _value_fits(self) -> PropertyFilter:
        op, value = self.operator, self.value
        if op in ("is_set", "is_not_set"):
            if value is not None:
                raise ValueError(f"{op} takes no value")
        elif op in ("gt", "lt"):
            if not isinstance(value, int | float) or isinstance(value, bool):
                raise ValueError(f"{op} needs a number")
        elif op == "in":
            if not isinstance(value, list) or not value or len(value) > 500:
                raise ValueError("in needs a list of 1 to 500 texts")
        elif not isinstance(value, str):
            raise ValueError(f"{op} needs a text value")
        if op in ("regex", "not_regex"):
            try:
                re.compile(str(value))
            except re.error as exc:
                raise ValueError(f"the pattern is not a valid regular expression: {exc}") from None
        return self


class TrendsSeries(_Strict):
    """One line of a trend: an event (or any event, ``event=None``), filters, and what to
    compute per interval."""

    event: Annotated[str | None, Field(max_length=200)] = None
    filters: Annotated[list[PropertyFilter], Field(max_length=20)] = []
    math: Literal["total", "unique_persons", "sum", "avg", "min", "max"] = "total"
    math_property: Annotated[str | None, Field(max_length=200)] = None
    label: Annotated[str | None, Field(max_length=200)] = None

    @model_validator(mode="after")
    def _property_for_math(self) -> TrendsSeries:
        needs = self.math in ("sum", "avg", "min", "max")
        if needs and not self.math_property:
            raise ValueError(f"math {self.math} needs math_property")
        if not needs and self.math_property:
            raise ValueError("math_property is only for sum, avg, min and max")
        return self


class Breakdown(_Strict):
    """Split each series by an event property: the ``limit`` largest values, the rest as
    ``$other``; events without the property count under ``''``."""

    property: Annotated[str, Field(min_length=1, max_length=200)]
    limit: Annotated[int, Field(ge=1, le=50)] = 10


class TrendsQuery(_Strict):
    kind: Literal["trends"] = "trends"
    series: Annotated[list[TrendsSeries], Field(min_length=1, max_length=10)]
    date_range: DateRange = DateRange()
    interval: Interval = "day"
    filters: Annotated[list[PropertyFilter], Field(max_length=20)] = []
    breakdown: Breakdown | None = None
    # Also the period of the same length just before, as lines with period "previous".
    compare: bool = False

    @model_validator(mode="after")
    def _hours_fit(self) -> TrendsQuery:
        if self.interval == "hour":
            span = self.date_range.last_days
            if self.date_range.date_from and self.date_range.date_to:
                span = (self.date_range.date_to - self.date_range.date_from).days + 1
            if span > MAX_HOURS_DAYS:
                raise ValueError(f"hourly trends cover at most {MAX_HOURS_DAYS} days")
        return self


# Every kind of question; the API takes any of them. New kinds join as a union
# discriminated by ``kind``.
Query = TrendsQuery


class TrendsLine(BaseModel):
    series: int
    label: str
    breakdown_value: str | None
    values: list[float]
    total: float
    period: Literal["current", "previous"] = "current"


class TrendsResult(BaseModel):
    kind: Literal["trends"] = "trends"
    timezone: str
    interval: Interval
    buckets: list[datetime]
    lines: list[TrendsLine]
    # The resolved query, so a client can see the defaults that were applied.
    query: dict[str, Any]


class TrendPersonsQuery(_Strict):
    """Who is behind a number of a trend: one series, optionally one bucket (its UTC start,
    as in the result) and one breakdown value."""

    query: TrendsQuery
    series: Annotated[int, Field(ge=0, le=9)] = 0
    bucket: datetime | None = None
    breakdown_value: Annotated[str | None, Field(max_length=1000)] = None
    limit: Annotated[int, Field(ge=1, le=1000)] = 100
    offset: Annotated[int, Field(ge=0, le=1_000_000)] = 0

    @model_validator(mode="after")
    def _series_exists(self) -> TrendPersonsQuery:
        if self.series >= len(self.query.series):
            raise ValueError(f"series {self.series} is not in the query")
        if self.breakdown_value is not None and self.query.breakdown is None:
            raise ValueError("breakdown_value needs a query with a breakdown")
        return self


class TrendPerson(BaseModel):
    person_id: str
    distinct_id: str  # the one the person used last in these events
    events: int
    last_seen: datetime


class TrendPersons(BaseModel):
    persons: list[TrendPerson]
    has_more: bool
