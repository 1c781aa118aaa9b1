"""The query objects of the product-analytics API and their results.

Every query has a ``kind``; the API accepts any of them (``Query``) and answers with the
matching result. Field-level validation happens here, so a runner only ever sees a query
that makes sense (dates in order, known operators, a value where one is needed).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any, Literal
from zoneinfo import available_timezones

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    field_validator,
    model_validator,
)

Interval = Literal["hour", "day", "week", "month"]
Operator = Literal[
    "exact", "is_not", "icontains", "not_icontains", "regex", "not_regex", "gt", "lt",
    "is_set", "is_not_set", "in", "is_date_before", "is_date_after",
]  # fmt: skip
MAX_DAYS = 3 * 366
# Python-only regex constructs the engines' RE2 refuses: look-arounds, back-references.
_NOT_RE2 = re.compile(r"\(\?<?[=!]|\\[1-9]|\(\?P=")
MAX_HOURS_DAYS = 31  # hourly buckets over at most a month


def known_zone(value: str | None) -> str | None:
    """An IANA time zone name, or a clear error."""
    if value is not None and value not in _ZONES:
        raise ValueError(f"{value!r} is not an IANA time zone (e.g. Europe/Paris)")
    return value


_ZONES = frozenset(available_timezones())


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

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        return known_zone(value)

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
    """A condition on an event property, or with ``type: person`` on the person's latest
    value of it (from the newest event that carries it). ``gt``/``lt`` compare numbers;
    ``is_date_before``/``is_date_after`` compare the property read as a date or time with
    an ISO date or time (UTC unless it says otherwise); ``in`` takes a list;
    ``is_set``/``is_not_set`` take no value; the others take text."""

    key: Annotated[str, Field(min_length=1, max_length=200)]
    operator: Operator = "exact"
    value: str | float | list[str] | None = None
    type: Literal["event", "person"] = "event"

    @model_validator(mode="after")
    def _value_fits(self) -> PropertyFilter:
        op, value = self.operator, self.value
        if op in ("is_date_before", "is_date_after"):
            if not isinstance(value, str):
                raise ValueError(f"{op} needs an ISO date, e.g. 2026-03-01")
            try:
                datetime.fromisoformat(value)
            except ValueError:
                raise ValueError(f"{value!r} is not an ISO date or time") from None
        elif op in ("is_set", "is_not_set"):
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
            if _NOT_RE2.search(str(value)):
                raise ValueError("look-arounds and back-references are not supported (RE2 syntax)")
        return self


def event_filters_only(filters: list[PropertyFilter], where: str) -> None:
    """Person-property filters belong to the whole query, not to one step or event."""
    if any(f.type == "person" for f in filters):
        raise ValueError(f"person property filters go in the query's filters, not {where}")


MAX_STATIC_MEMBERS = 100_000


class CohortCriterion(_Strict):
    """One condition a person meets as of now: did ``event`` at least ``min_times`` times
    in the last ``days`` days; did not do it in the last ``days`` days (persons seen
    before, only); or their latest value of a property matches ``property``."""

    type: Literal["did_event", "did_not_event", "property"]
    event: Annotated[str | None, Field(max_length=200)] = None
    min_times: Annotated[int, Field(ge=1, le=100_000)] = 1
    days: Annotated[int, Field(ge=1, le=MAX_DAYS)] = 30
    property: PropertyFilter | None = None

    @model_validator(mode="after")
    def _parts_fit(self) -> CohortCriterion:
        if self.type == "property":
            if self.property is None or self.event is not None:
                raise ValueError("a property criterion takes property (and no event)")
        elif self.event is None or self.property is not None:
            raise ValueError(f"{self.type} takes an event (and no property)")
        return self


class CohortDefinition(_Strict):
    """Who is in a cohort: persons meeting every criterion (dynamic), or a fixed list
    of person ids (static)."""

    criteria: Annotated[list[CohortCriterion], Field(max_length=10)] = []
    person_ids: Annotated[
        list[Annotated[str, Field(min_length=1, max_length=64)]],
        Field(max_length=MAX_STATIC_MEMBERS),
    ] = []

    @model_validator(mode="after")
    def _one_kind(self) -> CohortDefinition:
        if bool(self.criteria) == bool(self.person_ids):
            raise ValueError("a cohort has criteria (dynamic) or person_ids (static), not both")
        return self


class CohortFilter(_Strict):
    """Only persons in a cohort: a saved one by ``id`` (the API fills in its
    definition and name), or a definition given inline."""

    id: Annotated[int | None, Field(ge=1, le=2**63 - 1)] = None
    definition: CohortDefinition | None = None
    name: Annotated[str | None, Field(max_length=200)] = None

    @property
    def label(self) -> str:
        return self.name or (f"cohort {self.id}" if self.id is not None else "cohort")

    @model_validator(mode="after")
    def _something(self) -> CohortFilter:
        if self.id is None and self.definition is None:
            raise ValueError("name a cohort by id or give its definition")
        return self


PROPERTY_MATHS = ("sum", "avg", "min", "max", "p50", "p90", "p95", "p99")
FORMULA = re.compile(r"[A-J0-9.+\-*/() ]{1,200}")
_FORMULA_NODES = (
    ast.Expression, ast.BinOp, ast.UnaryOp, ast.Constant, ast.Name, ast.Load,
    ast.Add, ast.Sub, ast.Mult, ast.Div, ast.USub, ast.UAdd,
)  # fmt: skip


class TrendsSeries(_Strict):
    """One line of a trend: an event (or any event, ``event=None``), filters, and what to
    compute per interval."""

    event: Annotated[str | None, Field(max_length=200)] = None
    filters: Annotated[list[PropertyFilter], Field(max_length=20)] = []
    math: Literal[
        "total", "unique_persons", "unique_sessions", "weekly_active", "monthly_active",
        "sum", "avg", "min", "max", "p50", "p90", "p95", "p99",
    ] = "total"  # fmt: skip
    math_property: Annotated[str | None, Field(max_length=200)] = None
    label: Annotated[str | None, Field(max_length=200)] = None

    @model_validator(mode="after")
    def _property_for_math(self) -> TrendsSeries:
        needs = self.math in PROPERTY_MATHS
        if needs and not self.math_property:
            raise ValueError(f"math {self.math} needs math_property")
        if not needs and self.math_property:
            raise ValueError("math_property is only for sums, averages, extremes and percentiles")
        return self


class Breakdown(_Strict):
    """Split each series by an event property (or, with ``type: person``, by each
    person's latest value of it): the ``limit`` largest values, the rest as ``$other``;
    events without the property count under ``''``."""

    property: Annotated[str, Field(min_length=1, max_length=200)]
    limit: Annotated[int, Field(ge=1, le=50)] = 10
    type: Literal["event", "person"] = "event"


class TrendsQuery(_Strict):
    kind: Literal["trends"] = "trends"
    series: Annotated[list[TrendsSeries], Field(min_length=1, max_length=10)]
    date_range: DateRange = DateRange()
    interval: Interval = "day"
    filters: Annotated[list[PropertyFilter], Field(max_length=20)] = []
    # Only persons in this cohort.
    cohort: CohortFilter | None = None
    breakdown: Breakdown | None = None
    # One line (funnel) per cohort, each counting only its members (a person in two
    # cohorts counts in both); not with ``breakdown`` or ``cohort``.
    cohort_breakdown: Annotated[list[CohortFilter], Field(max_length=10)] = []
    # Also the period of the same length just before, as lines with period "previous".
    compare: bool = False
    # Arithmetic over the series by letter (A is the first), e.g. "A / B * 100": added as
    # lines of their own, per breakdown value.
    formula: Annotated[str | None, Field(max_length=200)] = None

    @model_validator(mode="after")
    def _formula_fits(self) -> TrendsQuery:
        if self.formula is None:
            return self
        if not FORMULA.fullmatch(self.formula):
            raise ValueError("a formula uses series letters A to J, numbers, + - * / and ()")
        letters = {c for c in self.formula if c.isalpha()}
        last = chr(ord("A") + len(self.series) - 1)
        if any(letter > last for letter in letters):
            raise ValueError(f"the formula names a series beyond {last}")
        try:
            tree = ast.parse(self.formula, mode="eval")
        except SyntaxError:
            raise ValueError("the formula is not a valid expression") from None
        if not all(isinstance(node, _FORMULA_NODES) for node in ast.walk(tree)):
            raise ValueError("a formula uses series letters, numbers, + - * / and () only")
        return self

    @model_validator(mode="after")
    def _active_users_by_day(self) -> TrendsQuery:
        rolling = [s.math for s in self.series if s.math in ("weekly_active", "monthly_active")]
        if rolling and self.interval != "day":
            raise ValueError(f"{rolling[0]} is counted per day: use interval day")
        if rolling and self.breakdown is not None:
            raise ValueError(f"{rolling[0]} cannot be broken down")
        return self

    @model_validator(mode="after")
    def _hours_fit(self) -> TrendsQuery:
        if self.interval == "hour":
            span = self.date_range.last_days
            if self.date_range.date_from and self.date_range.date_to:
                span = (self.date_range.date_to - self.date_range.date_from).days + 1
            if span > MAX_HOURS_DAYS:
                raise ValueError(f"hourly trends cover at most {MAX_HOURS_DAYS} days")
        return self

    @model_validator(mode="after")
    def _one_breakdown(self) -> TrendsQuery:
        if self.cohort_breakdown and (self.breakdown is not None or self.cohort is not None):
            raise ValueError("cohort_breakdown goes without breakdown and without cohort")
        return self


WindowUnit = Literal["second", "minute", "hour", "day", "week"]
_UNIT_SECONDS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400, "week": 604800}
MAX_WINDOW_SECONDS = 366 * 86400


class ConversionWindow(_Strict):
    """How long after a person's first step the later steps may happen (inclusive)."""

    value: Annotated[int, Field(ge=1)] = 14
    unit: WindowUnit = "day"

    @model_validator(mode="after")
    def _not_too_long(self) -> ConversionWindow:
        if self.seconds > MAX_WINDOW_SECONDS:
            raise ValueError("a conversion window may be at most 366 days")
        return self

    @property
    def seconds(self) -> int:
        return self.value * _UNIT_SECONDS[self.unit]


class FunnelStep(_Strict):
    """An event, optionally narrowed by property filters."""

    event: Annotated[str, Field(min_length=1, max_length=200)]
    filters: Annotated[list[PropertyFilter], Field(max_length=20)] = []
    label: Annotated[str | None, Field(max_length=200)] = None

    @model_validator(mode="after")
    def _event_filters(self) -> FunnelStep:
        event_filters_only(self.filters, "a step's filters")
        return self


class FunnelExclusion(_Strict):
    """Persons who do this event after step ``from_step`` and before step ``to_step`` of an
    attempt (inside its conversion window) are removed from the whole funnel."""

    event: Annotated[str, Field(min_length=1, max_length=200)]
    filters: Annotated[list[PropertyFilter], Field(max_length=20)] = []
    from_step: Annotated[int, Field(ge=0, le=9)] = 0
    to_step: Annotated[int, Field(ge=1, le=9)] = 1

    @model_validator(mode="after")
    def _event_filters(self) -> FunnelExclusion:
        event_filters_only(self.filters, "an exclusion's filters")
        return self


class FunnelBreakdown(_Strict):
    """Split the funnel by an event property, one value per person: the first non-empty
    value along their steps (``first_touch``), the last (``last_touch``) or the value on
    one ``step``. The ``limit`` values with most persons at the first step are shown; the
    rest are grouped as ``$other``; persons without a value count under ``''``."""

    property: Annotated[str, Field(min_length=1, max_length=200)]
    limit: Annotated[int, Field(ge=1, le=50)] = 10
    attribution: Literal["first_touch", "last_touch", "step"] = "first_touch"
    step: Annotated[int | None, Field(ge=0, le=9)] = None
    # person: each person's latest value of the property (attribution does not apply).
    type: Literal["event", "person"] = "event"

    @model_validator(mode="after")
    def _step_for_step_attribution(self) -> FunnelBreakdown:
        if (self.attribution == "step") != (self.step is not None):
            raise ValueError("step attribution needs step, and only it takes one")
        return self


class FunnelQuery(_Strict):
    """Of the persons who did the first step inside the date range, how many went on to
    each later step within the conversion window. See docs/metrics/product.md."""

    kind: Literal["funnels"] = "funnels"
    steps: Annotated[list[FunnelStep], Field(min_length=2, max_length=10)]
    date_range: DateRange = DateRange()
    order: Literal["ordered", "strict", "any"] = "ordered"
    window: ConversionWindow = ConversionWindow()
    exclusions: Annotated[list[FunnelExclusion], Field(max_length=5)] = []
    filters: Annotated[list[PropertyFilter], Field(max_length=20)] = []
    # Only persons in this cohort.
    cohort: CohortFilter | None = None
    breakdown: FunnelBreakdown | None = None
    # What moves through the funnel: persons (default), or sessions (each session of a
    # person on its own; events without a session are left out).
    aggregate_by: Literal["persons", "sessions"] = "persons"
    # One line (funnel) per cohort, each counting only its members (a person in two
    # cohorts counts in both); not with ``breakdown`` or ``cohort``.
    cohort_breakdown: Annotated[list[CohortFilter], Field(max_length=10)] = []

    @model_validator(mode="after")
    def _steps_fit(self) -> FunnelQuery:
        last = len(self.steps) - 1
        for number, item in enumerate(self.exclusions):
            if not item.from_step < item.to_step <= last:
                raise ValueError(
                    f"exclusion {number}: from_step must come before to_step, "
                    f"and to_step be at most {last}"
                )
        if self.exclusions and self.order == "any":
            raise ValueError("exclusions apply to ordered and strict funnels only")
        if self.breakdown and self.breakdown.step is not None and self.breakdown.step > last:
            raise ValueError(f"breakdown.step must be at most {last}")
        return self

    @model_validator(mode="after")
    def _one_breakdown(self) -> FunnelQuery:
        if self.cohort_breakdown and (self.breakdown is not None or self.cohort is not None):
            raise ValueError("cohort_breakdown goes without breakdown and without cohort")
        return self


MAX_RETENTION_PERIODS = {"hour": 72, "day": 92, "week": 53, "month": 36}


class RetentionEvent(_Strict):
    """An event (any event when ``event`` is None), optionally narrowed by filters."""

    event: Annotated[str | None, Field(max_length=200)] = None
    filters: Annotated[list[PropertyFilter], Field(max_length=20)] = []

    @model_validator(mode="after")
    def _event_filters(self) -> RetentionEvent:
        event_filters_only(self.filters, "an event's filters")
        return self


class RetentionQuery(_Strict):
    """Of the persons who did ``start`` in a period (their cohort), how many did
    ``returning`` 1, 2, … periods later. See docs/metrics/product.md."""

    kind: Literal["retention"] = "retention"
    start: RetentionEvent = RetentionEvent()
    returning: RetentionEvent = RetentionEvent()
    period: Interval = "week"
    # How many cohorts (and columns): the last is the period holding ``date_to``.
    periods: Annotated[int, Field(ge=1)] = 8
    date_to: date | None = None
    timezone: str | None = Field(default=None, max_length=64)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        return known_zone(value)

    # first_time: a person's cohort is the period of their first start event ever;
    # recurring: every period in which they did the start event.
    cohorting: Literal["first_time", "recurring"] = "first_time"
    # on: returned in exactly that period; on_or_after: in that period or any later one.
    criterion: Literal["on", "on_or_after"] = "on"
    filters: Annotated[list[PropertyFilter], Field(max_length=20)] = []
    # Only persons in this cohort.
    cohort: CohortFilter | None = None
    breakdown: Breakdown | None = None

    @model_validator(mode="after")
    def _periods_fit(self) -> RetentionQuery:
        most = MAX_RETENTION_PERIODS[self.period]
        if self.periods > most:
            raise ValueError(f"{self.period}ly retention covers at most {most} periods")
        return self


class ActivityEvent(_Strict):
    """What counts as being active: an event (any event when None), with filters."""

    event: Annotated[str | None, Field(max_length=200)] = None
    filters: Annotated[list[PropertyFilter], Field(max_length=20)] = []
    label: Annotated[str | None, Field(max_length=200)] = None

    @model_validator(mode="after")
    def _event_filters(self) -> ActivityEvent:
        event_filters_only(self.filters, "an event's filters")
        return self


class StickinessQuery(_Strict):
    """How many persons were active in exactly 1, 2, … of the range's intervals."""

    kind: Literal["stickiness"] = "stickiness"
    series: Annotated[list[ActivityEvent], Field(min_length=1, max_length=5)] = [ActivityEvent()]
    date_range: DateRange = DateRange(last_days=30)
    interval: Literal["day", "week", "month"] = "day"
    filters: Annotated[list[PropertyFilter], Field(max_length=20)] = []
    # Only persons in this cohort.
    cohort: CohortFilter | None = None


class LifecycleQuery(_Strict):
    """Per interval, the active persons split into new, returning and resurrecting, and
    those who went dormant."""

    kind: Literal["lifecycle"] = "lifecycle"
    activity: ActivityEvent = ActivityEvent()
    date_range: DateRange = DateRange(last_days=30)
    interval: Interval = "day"
    filters: Annotated[list[PropertyFilter], Field(max_length=20)] = []
    # Only persons in this cohort.
    cohort: CohortFilter | None = None

    @model_validator(mode="after")
    def _hours_fit(self) -> LifecycleQuery:
        if self.interval == "hour":
            span = self.date_range.last_days
            if self.date_range.date_from and self.date_range.date_to:
                span = (self.date_range.date_to - self.date_range.date_from).days + 1
            if span > MAX_HOURS_DAYS:
                raise ValueError(f"an hourly lifecycle covers at most {MAX_HOURS_DAYS} days")
        return self


class PathsQuery(_Strict):
    """The most common ways persons go on after an event (or come to one): each person's
    sequence from their first ``event`` in the range, to ``depth`` steps."""

    kind: Literal["paths"] = "paths"
    # The event paths start from (direction "after") or lead to ("before"); None: each
    # person's first event in the range.
    event: Annotated[str | None, Field(max_length=200)] = None
    direction: Literal["after", "before"] = "after"
    # What a step is: the event's name, or for $pageview events the page ($pathname).
    steps: Literal["events", "pages"] = "events"
    depth: Annotated[int, Field(ge=2, le=10)] = 5
    # Steps per position kept by persons; the rest are grouped as "$other".
    limit: Annotated[int, Field(ge=2, le=30)] = 8
    date_range: DateRange = DateRange()
    filters: Annotated[list[PropertyFilter], Field(max_length=20)] = []
    # Only persons in this cohort.
    cohort: CohortFilter | None = None

    @model_validator(mode="after")
    def _before_needs_event(self) -> PathsQuery:
        if self.direction == "before" and self.event is None:
            raise ValueError("paths before need the event they lead to")
        return self


# Every kind of question; the API takes any of them, told apart by ``kind``.
Query = Annotated[
    TrendsQuery | FunnelQuery | RetentionQuery | StickinessQuery | LifecycleQuery | PathsQuery,
    Field(discriminator="kind"),
]


class TrendsLine(BaseModel):
    series: int
    label: str
    breakdown_value: str | None
    values: list[float]
    total: float
    period: Literal["current", "previous"] = "current"
    # A line of the query's formula (``series`` is then -1).
    formula: bool = False


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
        split = self.query.breakdown is not None or self.query.cohort_breakdown
        if self.breakdown_value is not None and not split:
            raise ValueError("breakdown_value needs a query with a breakdown")
        if self.query.series[self.series].math in ("weekly_active", "monthly_active"):
            raise ValueError("weekly and monthly active persons are not listed: use unique persons")
        return self


class TrendPerson(BaseModel):
    person_id: str
    distinct_id: str  # the one the person used last in these events
    events: int
    last_seen: datetime


class TrendPersons(BaseModel):
    persons: list[TrendPerson]
    has_more: bool


class FunnelStepResult(BaseModel):
    step: int
    label: str
    count: int
    # Of the persons at the previous (the first) step, the share who reached this one.
    conversion_from_previous: float
    conversion_from_first: float
    # Persons who reached the previous step but not this one (0 at the first step).
    dropped: int
    # Time from the previous step, over the persons who reached this one (None at step 0).
    average_seconds: float | None
    median_seconds: float | None


class HistogramBin(BaseModel):
    start_seconds: float
    end_seconds: float
    persons: int


class FunnelGroup(BaseModel):
    breakdown_value: str | None
    steps: list[FunnelStepResult]
    # Time from the first to the last step, for the persons who completed the funnel.
    histogram: list[HistogramBin]


class FunnelResult(BaseModel):
    kind: Literal["funnels"] = "funnels"
    timezone: str
    window_seconds: int
    total: FunnelGroup
    breakdown: list[FunnelGroup]
    query: dict[str, Any]


class FunnelPersonsQuery(_Strict):
    """Who is behind one bar of a funnel: the persons who reached ``step``, or with
    ``dropped`` those who reached the step before it and went no further."""

    query: FunnelQuery
    step: Annotated[int, Field(ge=0, le=9)] = 0
    dropped: bool = False
    breakdown_value: Annotated[str | None, Field(max_length=1000)] = None
    limit: Annotated[int, Field(ge=1, le=1000)] = 100
    offset: Annotated[int, Field(ge=0, le=1_000_000)] = 0

    @model_validator(mode="after")
    def _step_exists(self) -> FunnelPersonsQuery:
        if self.step >= len(self.query.steps):
            raise ValueError(f"step {self.step} is not in the funnel")
        if self.dropped and self.step == 0:
            raise ValueError("nobody drops off before the first step: pick step 1 or later")
        split = self.query.breakdown is not None or self.query.cohort_breakdown
        if self.breakdown_value is not None and not split:
            raise ValueError("breakdown_value needs a query with a breakdown")
        return self


class FunnelPerson(BaseModel):
    person_id: str
    distinct_id: str
    # How many steps the person's furthest attempt reached (1 = the first step only).
    steps_reached: int
    entered_at: datetime


class FunnelPersons(BaseModel):
    persons: list[FunnelPerson]
    has_more: bool


class RetentionCohort(BaseModel):
    start: datetime  # the UTC start of the cohort's period
    breakdown_value: str | None
    size: int
    # Persons counted n periods after the cohort's (n = 0: the cohort itself); None for
    # periods that have not begun by the end of the query.
    values: list[int | None]


class RetentionResult(BaseModel):
    kind: Literal["retention"] = "retention"
    timezone: str
    period: Interval
    cohorts: list[RetentionCohort]
    # Per column, persons counted over persons in the cohorts that reached it.
    mean: list[float | None]
    query: dict[str, Any]


class StickinessLine(BaseModel):
    series: int
    label: str
    # values[k - 1]: persons active in exactly k of the intervals.
    values: list[int]


class StickinessResult(BaseModel):
    kind: Literal["stickiness"] = "stickiness"
    timezone: str
    interval: Interval
    intervals: int  # how many intervals the range has
    lines: list[StickinessLine]
    query: dict[str, Any]


LifecycleStatus = Literal["new", "returning", "resurrecting", "dormant"]


class LifecycleResult(BaseModel):
    kind: Literal["lifecycle"] = "lifecycle"
    timezone: str
    interval: Interval
    buckets: list[datetime]
    # Persons per bucket; dormant ones are negative, as drawn below the axis.
    new: list[int]
    returning: list[int]
    resurrecting: list[int]
    dormant: list[int]
    query: dict[str, Any]


class PathNode(BaseModel):
    step: int  # 0: the starting (or, before, the final) event
    name: str
    persons: int
    # Persons whose path ends here (no later step within the depth).
    ended: int


class PathLink(BaseModel):
    step: int  # from node ``step`` to ``step + 1``
    source: str
    target: str
    persons: int


class PathsResult(BaseModel):
    kind: Literal["paths"] = "paths"
    timezone: str
    nodes: list[PathNode]
    links: list[PathLink]
    query: dict[str, Any]


Result = Annotated[
    TrendsResult
    | FunnelResult
    | RetentionResult
    | StickinessResult
    | LifecycleResult
    | PathsResult,
    Field(discriminator="kind"),
]


class RetentionPersonsQuery(_Strict):
    """Who is behind one cell of a retention matrix: a cohort (its period start, as in
    the result), and of it those counted ``period_offset`` periods later (0: the whole
    cohort)."""

    query: RetentionQuery
    cohort: datetime
    period_offset: Annotated[int, Field(ge=0, le=100)] = 0
    breakdown_value: Annotated[str | None, Field(max_length=1000)] = None
    limit: Annotated[int, Field(ge=1, le=1000)] = 100
    offset: Annotated[int, Field(ge=0, le=1_000_000)] = 0

    @model_validator(mode="after")
    def _fits(self) -> RetentionPersonsQuery:
        if self.period_offset >= self.query.periods:
            raise ValueError(f"period_offset must be below periods ({self.query.periods})")
        if self.breakdown_value is not None and self.query.breakdown is None:
            raise ValueError("breakdown_value needs a query with a breakdown")
        if self.cohort.tzinfo is None:
            raise ValueError("cohort needs a time zone (the UTC start given in the result)")
        return self


class StickinessPersonsQuery(_Strict):
    """The persons active in exactly ``intervals`` intervals (of one series)."""

    query: StickinessQuery
    series: Annotated[int, Field(ge=0, le=4)] = 0
    intervals: Annotated[int, Field(ge=1, le=5000)] = 1
    limit: Annotated[int, Field(ge=1, le=1000)] = 100
    offset: Annotated[int, Field(ge=0, le=1_000_000)] = 0

    @model_validator(mode="after")
    def _series_exists(self) -> StickinessPersonsQuery:
        if self.series >= len(self.query.series):
            raise ValueError(f"series {self.series} is not in the query")
        return self


class LifecyclePersonsQuery(_Strict):
    """The persons of one status in one bucket (its UTC start, as in the result)."""

    query: LifecycleQuery
    bucket: datetime
    status: LifecycleStatus
    limit: Annotated[int, Field(ge=1, le=1000)] = 100
    offset: Annotated[int, Field(ge=0, le=1_000_000)] = 0


class PathPersonsQuery(_Strict):
    """The persons whose path passed through ``name`` at ``step``."""

    query: PathsQuery
    step: Annotated[int, Field(ge=0, le=9)] = 0
    name: Annotated[str, Field(max_length=1000)]
    limit: Annotated[int, Field(ge=1, le=1000)] = 100
    offset: Annotated[int, Field(ge=0, le=1_000_000)] = 0


class PersonRow(BaseModel):
    person_id: str
    distinct_id: str  # the one the person used last in the query's time span
    last_seen: datetime | None


class PersonList(BaseModel):
    persons: list[PersonRow]
    has_more: bool


_DRILLABLE = ("trends", "funnels", "retention", "stickiness", "lifecycle", "paths")


def _kind_of_inner_query(value: Any) -> str:
    inner = value.get("query") if isinstance(value, dict) else getattr(value, "query", None)
    kind = inner.get("kind") if isinstance(inner, dict) else getattr(inner, "kind", None)
    return kind if kind in _DRILLABLE else "trends"


# A drill-down request, told apart by the kind of the query it drills into.
PersonsQuery = Annotated[
    Annotated[TrendPersonsQuery, Tag("trends")]
    | Annotated[FunnelPersonsQuery, Tag("funnels")]
    | Annotated[RetentionPersonsQuery, Tag("retention")]
    | Annotated[StickinessPersonsQuery, Tag("stickiness")]
    | Annotated[LifecyclePersonsQuery, Tag("lifecycle")]
    | Annotated[PathPersonsQuery, Tag("paths")],
    Discriminator(_kind_of_inner_query),
]
PersonsPage = TrendPersons | FunnelPersons | PersonList


# --- features -------------------------------------------------------------------------------


class FeatureIn(_Strict):
    """A feature's definition as a project writes it."""

    name: Annotated[str, Field(min_length=1, max_length=200)]
    events: Annotated[
        list[Annotated[str, Field(min_length=1, max_length=200)]],
        Field(min_length=1, max_length=20),
    ]
    start_event: Annotated[str | None, Field(max_length=200)] = None
    completion_event: Annotated[str | None, Field(max_length=200)] = None
    is_core: bool = False

    @model_validator(mode="after")
    def _both_or_neither(self) -> FeatureIn:
        if (self.start_event is None) != (self.completion_event is None):
            raise ValueError("give both start_event and completion_event, or neither")
        return self


class FeatureInfo(FeatureIn):
    id: int


class AdoptionPoint(BaseModel):
    start: datetime  # the UTC start of the period
    active: int  # persons active in the period (any event)
    adopters: int  # of them, persons who used the feature
    rate: float


class ShareRow(BaseModel):
    """Adoption within one group: a plan, or a sign-up month."""

    group: str
    persons: int
    adopters: int
    rate: float


class RetentionCurve(BaseModel):
    label: str
    persons: int
    # Share of ``persons`` active in week 0, 1, 2, … (week 0 is 1.0 by definition).
    shares: list[float | None]


class FeatureReport(BaseModel):
    feature: FeatureInfo
    timezone: str
    interval: Interval
    adoption: list[AdoptionPoint]
    # Over the whole range.
    active: int
    adopters: int
    rate: float
    median_days_to_first_use: float | None  # from the person's first event ever
    uses_per_adopter: float | None
    median_uses_per_adopter: float | None
    completion_rate: float | None  # start → completion within 7 days
    median_seconds_to_complete: float | None
    by_plan: list[ShareRow]
    by_signup_month: list[ShareRow]
    retention: list[RetentionCurve]  # adopters vs non-adopters, weekly


class CoreAdoption(BaseModel):
    """Which of the project's core features a person has used ("3 of 10")."""

    person_id: str
    adopted: list[str]
    not_adopted: list[str]

    @property
    def total(self) -> int:
        return len(self.adopted) + len(self.not_adopted)


@dataclass(frozen=True)
class PersonActivity:
    """What one person did in the product up to a moment: the last 7 days and the last
    ``days`` (30 unless asked otherwise; the ``_30d`` fields), merged ids included
    (docs/metrics/product.md, "Activity of one person")."""

    last_seen: datetime | None  # their latest event in the year up to the moment, or None
    events_7d: int
    events_30d: int
    sessions_30d: int  # distinct non-empty session ids
    errors_7d: int  # ``$exception`` events
    recent_errors: tuple[str, ...]  # up to 5 latest in the range, "Type: message on url"
    recent_events: tuple[tuple[datetime, str], ...]  # up to 10 latest: (time, event name)
    top_events: tuple[tuple[str, int], ...]  # up to 5 most frequent in the range: (name, n)
    features_adopted: tuple[str, ...]  # project features used in the range, by name
    features_total: int  # the project's features
    core_adopted: tuple[str, ...]  # of those used, the core ones
    core_total: int  # the project's core features


@dataclass(frozen=True)
class ActivitySignals:
    """What every person of a project did, at a moment, as the health score reads it
    (merged ids included; days are UTC days; defined in ``queries/person_signals.py``)."""

    first_seen: datetime | None  # their first event ever, up to the moment
    last_seen: datetime | None
    active_days: int  # distinct days with events, all history
    active_days_28d: int  # of those, days within the 28 days before the moment
    events_7d: int
    weekly_baseline: float  # events 8 to 35 days before the moment, divided by 4
    sessions_30d: int  # distinct non-empty session ids
    errors_7d: int  # ``$exception`` events
    core_adopted: int  # the project's core features used in the 30 days
    core_total: int  # the project's core features
    features: tuple[str, ...]  # the project's features used in the 30 days, by name
