"""What crosses the people area's boundary: health scores and their parts, insights,
timeline items, the filter language, quick and bulk actions, and the area's settings.

Definitions of every figure are in docs/people.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

# --- health ------------------------------------------------------------------------------

BANDS = ("healthy", "at_risk", "critical")
BAND_LABELS = {"healthy": "Healthy", "at_risk": "At risk", "critical": "Critical"}

# Every component of the score: its label and default weight (the weights sum to 100).
# A component that does not apply to a person (payments for someone who never paid) is
# left out and the others are scaled up to 100.
COMPONENTS: dict[str, tuple[str, int]] = {
    "engagement": ("Engagement this week", 20),
    "trend": ("Trend vs their own baseline", 15),
    "frequency": ("Usage frequency", 15),
    "adoption": ("Core-feature adoption", 15),
    "errors": ("Errors experienced", 10),
    "support": ("Support tickets", 10),
    "payments": ("Payment failures", 10),
    "subscription": ("Subscription changes", 5),
}
DEFAULT_WEIGHTS = {key: weight for key, (_, weight) in COMPONENTS.items()}


@dataclass(frozen=True)
class Signals:
    """Everything the health score of one person is computed from, at ``now``.

    Activity counts merged ids; billing sums the person's customers; support counts the
    tickets they requested. ``weekly_baseline`` is the mean number of events per week
    in the four weeks before the last seven days."""

    person_id: str
    now: datetime
    created_at: datetime | None = None
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    active_days_28d: int = 0
    events_7d: int = 0
    weekly_baseline: float = 0.0
    errors_7d: int = 0
    core_adopted: int = 0
    core_total: int = 0
    billing_status: str = ""  # revenue's customer status; "" without a billing customer
    mrr_minor: int = 0
    payment_failures_30d: int = 0
    open_failures: int = 0
    downgrades_30d: int = 0
    upgrades_30d: int = 0
    churned_on: date | None = None
    open_tickets: int = 0
    tickets_30d: int = 0
    negative_tickets_30d: int = 0


@dataclass(frozen=True)
class Component:
    key: str  # a key of COMPONENTS
    label: str
    weight: float  # its share of the score for this person, in points (all sum to 100)
    score: float | None  # 0.0-1.0; None when it does not apply to this person
    value: str  # what was measured, in words ("3 of 10", "12 events vs 20 a week")

    @property
    def points(self) -> float:
        return 0.0 if self.score is None else self.weight * self.score


@dataclass(frozen=True)
class Reason:
    text: str  # "usage down 40% vs their 4-week average"
    points: float  # points this costs (negative) or earns (positive) the score
    component: str


@dataclass(frozen=True)
class Health:
    score: int  # 0-100
    band: str  # one of BANDS
    components: tuple[Component, ...]
    reasons: tuple[Reason, ...]  # the strongest first, at most 3 of each sign

    def to_json(self) -> dict[str, Any]:
        return {
            "score": self.score,
            "band": self.band,
            "components": [
                {"key": c.key, "label": c.label, "weight": round(c.weight, 2),
                 "score": None if c.score is None else round(c.score, 4), "value": c.value}
                for c in self.components
            ],
            "reasons": [
                {"text": r.text, "points": round(r.points, 1), "component": r.component}
                for r in self.reasons
            ],
        }  # fmt: skip

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Health | None:
        if not data or "score" not in data:
            return None
        return cls(
            score=int(data["score"]),
            band=str(data["band"]),
            components=tuple(
                Component(c["key"], c["label"], float(c["weight"]), c["score"], c["value"])
                for c in data.get("components", [])
            ),
            reasons=tuple(
                Reason(r["text"], float(r["points"]), r["component"])
                for r in data.get("reasons", [])
            ),
        )


@dataclass(frozen=True)
class PeopleConfig:
    """A project's people settings (defaults when it saved none)."""

    healthy_from: int = 70  # a score at or above is healthy
    at_risk_from: int = 40  # at or above (and below healthy_from) is at risk; below, critical
    weights: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    vip_mrr_minor: int = 50_000  # paying at least this MRR makes a person a VIP
    account_property: str = "company"  # the person property naming their account
    mail_from: str = ""

    def band(self, score: int) -> str:
        if score >= self.healthy_from:
            return "healthy"
        return "at_risk" if score >= self.at_risk_from else "critical"


# --- the person page ----------------------------------------------------------------------

TIMELINE_KINDS = ("session", "error", "payment", "subscription", "ticket", "email", "note",
                  "action")  # fmt: skip
TIMELINE_LABELS = {
    "session": "Sessions", "error": "Errors", "payment": "Payments",
    "subscription": "Subscription", "ticket": "Tickets", "email": "E-mails", "note": "Notes",
    "action": "Team actions",
}  # fmt: skip


@dataclass(frozen=True)
class TimelineItem:
    at: datetime
    kind: str  # one of TIMELINE_KINDS
    title: str  # one line, plain words
    detail: str = ""  # more words (a note's markdown source, an error's place, …)
    link: str = ""  # a page inside Loopwise, when there is one
    actor: str = ""  # who did it, for the team's own actions
    data: dict[str, Any] = field(default_factory=dict)  # the source's own fields, for JSON


@dataclass(frozen=True)
class Timeline:
    items: tuple[TimelineItem, ...]  # newest first
    start: datetime  # the items cover [start, end)
    end: datetime
    kinds: tuple[str, ...]  # the kinds asked for


@dataclass(frozen=True)
class Insight:
    kind: Literal["warning", "info", "good"]
    text: str  # the observation in plain words
    evidence: str  # the figures behind it


# --- filters -------------------------------------------------------------------------------

QUICK_FILTERS = {
    "at_risk": "At risk",
    "payment_failed": "Payment failed",
    "open_tickets": "Open tickets",
    "churned_30d": "Churned in the last 30 days",
    "vip": "VIP",
    "new_this_week": "New this week",
}
# The fields a condition may test, with their kind. Days fields count whole days before
# now; ``mrr`` is in major units of the project's currency. ``property`` tests a person
# property named by ``key``; ``did_event`` tests behaviour: the person did ``event`` at
# least ``value`` times (1 when not given) in the last ``days`` days.
FIELDS: dict[str, Literal["text", "number", "list", "bool", "days", "property", "event"]] = {
    "email": "text",
    "name": "text",
    "account": "text",
    "plan": "text",
    "billing_status": "text",
    "band": "text",
    "tags": "list",
    "features": "list",
    "vip": "bool",
    "mrr": "number",
    "health": "number",
    "active_days": "number",
    "active_days_28d": "number",
    "events_7d": "number",
    "sessions_30d": "number",
    "errors_7d": "number",
    "open_tickets": "number",
    "payment_failures_30d": "number",
    "last_seen_days": "days",
    "first_seen_days": "days",
    "churned_days": "days",
    "property": "property",
    "did_event": "event",
}
OPERATORS = ("eq", "ne", "gt", "gte", "lt", "lte", "contains", "not_contains", "is_set",
             "is_not_set")  # fmt: skip
MAX_CONDITIONS = 20


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Condition(_Strict):
    field: Annotated[str, Field(max_length=40)]  # a key of FIELDS
    op: Literal["eq", "ne", "gt", "gte", "lt", "lte", "contains", "not_contains", "is_set",
                "is_not_set"] = "eq"  # fmt: skip
    value: str | float | bool | None = None
    key: Annotated[str, Field(max_length=200)] = ""  # the property, for field "property"
    event: Annotated[str, Field(max_length=200)] = ""  # for field "did_event"
    days: Annotated[int, Field(ge=1, le=366)] = 30  # for field "did_event"

    @model_validator(mode="after")
    def _known(self) -> Condition:
        if self.field not in FIELDS:
            raise ValueError(f"field {self.field!r} is not one of {', '.join(FIELDS)}")
        if self.field == "property" and not self.key:
            raise ValueError("a property condition names the property in 'key'")
        if self.field == "did_event" and not self.event:
            raise ValueError("a did_event condition names the event in 'event'")
        return self


class FilterSpec(_Strict):
    """Who is in the list: the search text, quick filters and conditions all hold
    (conditions joined by ``match``)."""

    q: Annotated[str, Field(max_length=200)] = ""
    quick: Annotated[list[str], Field(max_length=len(QUICK_FILTERS))] = []
    conditions: Annotated[list[Condition], Field(max_length=MAX_CONDITIONS)] = []
    match: Literal["all", "any"] = "all"
    sort: Literal["-health", "health", "-mrr", "-last_seen", "last_seen", "name",
                  "-created"] = "-last_seen"  # fmt: skip

    @model_validator(mode="after")
    def _quick_known(self) -> FilterSpec:
        for name in self.quick:
            if name not in QUICK_FILTERS:
                raise ValueError(f"quick filter {name!r} is not one of {', '.join(QUICK_FILTERS)}")
        return self


@dataclass(frozen=True)
class PersonRow:
    """One person in a list or a search result."""

    person_id: str
    email: str
    name: str
    account: str
    plan: str
    mrr_minor: int
    billing_status: str
    health: int | None
    band: str
    last_seen: datetime | None
    created_at: datetime | None
    tags: tuple[str, ...]
    vip: bool
    matched: str = ""  # what a search matched ("email", "distinct id", "ticket #12", …)


@dataclass(frozen=True)
class PeoplePage:
    rows: tuple[PersonRow, ...]
    total: int
    limit: int
    offset: int
    currency: str


# --- actions ---------------------------------------------------------------------------------

ACTION_KINDS = ("note", "tag", "untag", "vip", "email", "ticket", "grant")
MAX_ID = 2**63 - 1  # the largest id the databases store (a signed 64-bit integer)


class NoteAction(_Strict):
    kind: Literal["note"]
    body: Annotated[str, Field(min_length=1, max_length=20_000)]


class TagAction(_Strict):
    kind: Literal["tag", "untag"]
    tag: Annotated[str, Field(min_length=1, max_length=50)]


class VipAction(_Strict):
    kind: Literal["vip"]
    vip: bool = True


class EmailAction(_Strict):
    """An e-mail to the person: a support response template by id (its variables filled
    in), or a subject and body written here."""

    kind: Literal["email"]
    template_id: Annotated[int | None, Field(ge=1, le=MAX_ID)] = None
    subject: Annotated[str, Field(max_length=300)] = ""
    body: Annotated[str, Field(max_length=50_000)] = ""


class TicketAction(_Strict):
    kind: Literal["ticket"]
    subject: Annotated[str, Field(min_length=1, max_length=300)]
    body: Annotated[str, Field(min_length=1, max_length=50_000)]
    priority: Literal["low", "normal", "high", "urgent"] = "normal"


class GrantAction(_Strict):
    """A complimentary subscription (``months`` of ``plan``) or a credit (``amount`` in
    major units of the project's currency), recorded as a request to revenue."""

    kind: Literal["grant"]
    grant: Literal["complimentary", "credit"]
    months: Annotated[int, Field(ge=0, le=36)] = 0
    plan: Annotated[str, Field(max_length=200)] = ""
    amount: Annotated[float, Field(ge=0, le=1_000_000)] = 0
    reason: Annotated[str, Field(min_length=1, max_length=2000)]


Action = Annotated[
    NoteAction | TagAction | VipAction | EmailAction | TicketAction | GrantAction,
    Field(discriminator="kind"),
]


@dataclass(frozen=True)
class ActionDone:
    kind: str
    action_id: int | None  # the person_actions row, when one was written
    message: str  # what happened, in words, for the page's flash
    link: str = ""  # e.g. the ticket created


class BulkAction(_Strict):
    """One action on everyone a filter selects. ``email`` runs in two steps: without
    ``confirm`` it answers a preview (recipients, the first rendered messages) and sends
    nothing; with ``confirm`` it sends and logs each send."""

    kind: Literal["tag", "export", "cohort", "email"]
    filter: FilterSpec = FilterSpec()
    tag: Annotated[str, Field(max_length=50)] = ""
    cohort_id: Annotated[int | None, Field(ge=1, le=MAX_ID)] = None
    cohort_name: Annotated[str, Field(max_length=200)] = ""
    template_id: Annotated[int | None, Field(ge=1, le=MAX_ID)] = None
    subject: Annotated[str, Field(max_length=300)] = ""
    body: Annotated[str, Field(max_length=50_000)] = ""
    confirm: bool = False


MAX_BULK = 10_000  # people one bulk action may touch (an export may take 100,000)
MAX_EXPORT = 100_000
