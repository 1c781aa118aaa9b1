"""Auto-resolution of routine requests the project switched on.

When a new ticket's intent is enabled and triage is at least as confident as the intent's
threshold, the intent's handler checks it can really answer (the facts it needs are
known), the intent's response template is filled, the reply is sent, and the ticket is
solved. Every attempt that reaches a handler is logged in ``support_actions`` with the
confidence and threshold, for review; a customer's reply reopening the ticket turns the
entry into a counted miss. Handlers never write to a billing system.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from loopwise.support.contracts import TicketContext, Triage
from loopwise.support.models import SupportSettings, Ticket


@dataclass(frozen=True)
class Handled:
    """A handler's verdict: whether it can answer, the values its template needs, why."""

    ok: bool
    detail: str
    values: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class HandlerInput:
    ticket: Ticket
    context: TicketContext | None
    settings: SupportSettings
    link: str  # the intent's configured link (reset page, billing portal, …), or ""


Handler = Callable[[HandlerInput], Handled]
HANDLERS: dict[str, Handler] = {}


def handler(intent: str) -> Callable[[Handler], Handler]:
    def register(function: Handler) -> Handler:
        HANDLERS[intent] = function
        return function

    return register


@handler("invoice_request")
def _invoice(given: HandlerInput) -> Handled:
    revenue = given.context.revenue if given.context else None
    if revenue is None:
        return Handled(False, "the requester is not a billing customer")
    if not given.link:
        return Handled(False, "no billing portal link is configured for invoice requests")
    return Handled(
        True,
        f"billing customer {', '.join(revenue.customer_ids)}",
        {"link": given.link, "plan": revenue.plan},
    )


@handler("password_reset")
def _password(given: HandlerInput) -> Handled:
    if not given.link:
        return Handled(False, "no password reset link is configured")
    if not given.ticket.requester_email:
        return Handled(False, "the requester has no e-mail address")
    return Handled(True, "reset link sent to the requester's address", {"link": given.link})


@handler("cancellation_request")
def _cancellation(given: HandlerInput) -> Handled:
    revenue = given.context.revenue if given.context else None
    if revenue is None:
        return Handled(False, "the requester is not a billing customer")
    if revenue.status not in ("churned", "canceled", "never paid"):
        # Still paying: a cancellation is a conversation for an agent, not a form letter.
        return Handled(False, f"the subscription is still {revenue.status}")
    return Handled(
        True, f"subscription already {revenue.status}", {"plan": revenue.plan, "link": given.link}
    )


@handler("plan_question")
def _plan(given: HandlerInput) -> Handled:
    revenue = given.context.revenue if given.context else None
    values = {"plan": revenue.plan} if revenue and revenue.plan else {}
    if given.link:
        values["link"] = given.link
    return Handled(True, "answered from the plan template", values)


@dataclass(frozen=True)
class Decision:
    intent: str
    confidence: float
    threshold: float
    fire: bool
    reason: str


def decide(settings: SupportSettings, triage: Triage) -> Decision | None:
    """Whether triage lets an enabled intent fire; None when no enabled intent applies."""
    intent = triage.intent.value
    config = settings.auto_resolution.get(intent) or {}
    if not intent or not config.get("enabled") or intent not in HANDLERS:
        return None
    threshold = float(config.get("threshold", 0.9))
    confidence = triage.intent.confidence
    if confidence < threshold:
        return Decision(
            intent,
            confidence,
            threshold,
            False,
            f"confidence {confidence:.2f} is below the threshold {threshold:.2f}",
        )
    return Decision(intent, confidence, threshold, True, "confident enough")


def link_of(settings: SupportSettings, intent: str) -> str:
    return str((settings.auto_resolution.get(intent) or {}).get("link", ""))
