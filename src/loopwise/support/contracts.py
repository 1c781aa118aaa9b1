"""What may cross the support area's boundary: new tickets and messages as sources hand
them over, the triage of a ticket, its context, similar tickets and the suggested reply."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

STATUSES = ("new", "open", "pending", "solved", "closed")
UNSOLVED = ("new", "open", "pending")
PRIORITIES = ("low", "normal", "high", "urgent")
CHANNELS = ("email", "chat", "web", "phone", "api", "social")
DEFAULT_CATEGORIES = (
    "billing",
    "bug",
    "how_to",
    "feature_request",
    "account_access",
    "cancellation",
    "other",
)
SENTIMENTS = ("negative", "neutral", "positive")

# Routine intents: finer than a category, each with the category it belongs to. The triage
# model learns intents where agents labelled them and categories elsewhere; an enabled
# intent can be resolved automatically.
ROUTINE_INTENTS: dict[str, str] = {
    "invoice_request": "billing",
    "password_reset": "account_access",
    "cancellation_request": "cancellation",
    "plan_question": "how_to",
}


def category_of(label: str) -> str:
    """The category a triage label stands for: an intent's parent, or the label itself."""
    return ROUTINE_INTENTS.get(label, label)


@dataclass(frozen=True)
class NewMessage:
    body: str
    author_kind: str = "customer"  # customer, agent, system
    author: str = ""
    at: datetime | None = None
    public: bool = True
    external_id: str = ""


@dataclass(frozen=True)
class NewTicket:
    """A ticket as a source hands it over. Empty strings mean "not given": triage fills
    category, priority and feature; a given ``category`` is taken as an agent's label."""

    subject: str
    body: str
    requester_email: str = ""
    requester_name: str = ""
    requester_user_id: str = ""
    channel: str = "email"
    source: str = "api"
    external_id: str = ""
    created_at: datetime | None = None
    status: str = ""
    priority: str = ""
    category: str = ""
    feature: str = ""
    assignee: str = ""
    queue: str = ""
    tags: tuple[str, ...] = ()
    csat_rating: int | None = None
    csat_comment: str = ""
    # Later messages of the conversation (imports and help-desk webhooks carry them).
    messages: tuple[NewMessage, ...] = ()
    solved_at: datetime | None = None


@dataclass(frozen=True)
class Guess:
    """One triage field: the value, how sure, and why (in words)."""

    value: str
    confidence: float
    why: str = ""


@dataclass(frozen=True)
class Triage:
    intent: Guess
    category: Guess
    priority: Guess
    feature: Guess
    sentiment: Guess
    language: Guess
    model: str  # "rules" or "model #<id> (<encoder>)"

    def as_json(self) -> dict[str, Any]:
        return {
            name: {"value": g.value, "confidence": round(g.confidence, 4), "why": g.why}
            for name, g in (
                ("intent", self.intent),
                ("category", self.category),
                ("priority", self.priority),
                ("feature", self.feature),
                ("sentiment", self.sentiment),
                ("language", self.language),
            )
        } | {"model": self.model}


@dataclass(frozen=True)
class RevenueContext:
    status: str
    plan: str
    mrr_minor: int
    currency: str
    next_billing: str  # ISO date, or ""
    payment_failures: int  # in the last 30 days
    customer_ids: tuple[str, ...]


@dataclass(frozen=True)
class ActivityContext:
    last_seen: str  # ISO timestamp, or ""
    events_7d: int
    errors_7d: int
    recent_errors: tuple[str, ...]
    recent_events: tuple[str, ...]
    features_adopted: tuple[str, ...]
    features_total: int


@dataclass(frozen=True)
class TicketContext:
    """What the other areas know about the requester; a part is None where its area has
    nothing (or is not built), never a placeholder."""

    person_id: str
    name: str
    email: str
    revenue: RevenueContext | None
    activity: ActivityContext | None
    open_tickets: tuple[tuple[int, str], ...]  # (number, subject), this one excluded
    gathered_at: str

    def as_json(self) -> dict[str, Any]:
        def part(value: Any) -> Any:
            return None if value is None else dict(value.__dict__)

        return {
            "person_id": self.person_id,
            "name": self.name,
            "email": self.email,
            "revenue": part(self.revenue),
            "activity": part(self.activity),
            "open_tickets": [list(t) for t in self.open_tickets],
            "gathered_at": self.gathered_at,
        }


@dataclass(frozen=True)
class SimilarTicket:
    ticket_id: int
    number: int
    subject: str
    category: str
    similarity: float
    resolution: str  # the agent's last public reply before it was solved
    hours_to_resolve: float | None


@dataclass(frozen=True)
class Suggestion:
    text: str
    source: str  # "template: <name>", "similar ticket #<n>", "llm", or ""
    template: str = ""
    based_on: tuple[int, ...] = field(default_factory=tuple)
