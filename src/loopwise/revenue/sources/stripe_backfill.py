"""Stripe backfill: the billing history a project had before its webhook was connected,
read through Stripe's API with the official ``stripe`` library.

Each resource (customers, subscriptions of every status, invoices, charges, refunds,
credit notes) is listed 100 at a time, oldest cursor first, and each page is applied in
its own transaction together with the cursor it reached, so a run that stops (network,
rate limit, Ctrl-C) resumes from the last page it finished. Objects are stored exactly as
webhooks store them; an object already held in the same state adds no history row.
Finally the last 30 days of events (all Stripe keeps) are replayed through the webhook
path, which gives recent subscription changes their real times; events already applied
are skipped by id as usual.

A listed object is its state *now*: a subscription's earlier plan changes, beyond the last
30 days of events, are not in the API, so its history starts at ``start_date`` with its
current items (docs/revenue.md says what that means for MRR before the backfill).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import stripe
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from loopwise.core.db import transaction, utcnow
from loopwise.revenue.models import Backfill, BillingObjectVersion
from loopwise.revenue.sources.stripe import KINDS, apply_event, store_object

PAGE = 100
# (resource, extra list parameters); the client attribute has the same name.
RESOURCES: tuple[tuple[str, dict[str, Any]], ...] = (
    ("customers", {}),
    ("subscriptions", {"status": "all"}),
    ("invoices", {}),
    ("charges", {}),
    ("refunds", {}),
    ("credit_notes", {}),
    ("events", {}),
)


class BackfillError(Exception):
    """Stripe refused or could not be reached; the run can be resumed."""


@dataclass(frozen=True)
class Progress:
    resource: str
    seen: int  # objects applied for this resource so far, earlier runs included
    done: bool


def client_for(api_key: str, api_base: str | None = None) -> stripe.StripeClient:
    """A Stripe client; ``api_base`` points it elsewhere (a local stub in tests)."""
    if not api_key.startswith(("sk_", "rk_")):
        raise BackfillError("a Stripe secret or restricted key starts with sk_ or rk_")
    bases: Any = {"api": api_base} if api_base else None
    return stripe.StripeClient(api_key, base_addresses=bases, max_network_retries=2)


def backfill(
    sessions: sessionmaker[Session],
    project_id: int,
    client: stripe.StripeClient,
    *,
    restart: bool = False,
    on_page: Callable[[Progress], None] | None = None,
    now: datetime | None = None,
) -> list[Progress]:
    """Import (or resume importing) the project's Stripe history; returns each resource's
    count. Raises ``BackfillError`` when Stripe stops it; run again to resume."""
    if restart:
        with transaction(sessions) as session:
            for row in session.scalars(select(Backfill).where(Backfill.project_id == project_id)):
                session.delete(row)
    found = []
    for resource, params in RESOURCES:
        state = _state(sessions, project_id, resource)
        for page in _pages(client, resource, params, state.cursor, state.done):
            with transaction(sessions) as session:
                held = session.get(Backfill, (project_id, "stripe", resource))
                assert held is not None
                for thing in page.things:
                    _apply(session, project_id, resource, thing, now or utcnow())
                held.cursor = page.cursor or held.cursor
                held.seen += len(page.things)
                held.done = not page.more
                held.updated_at = utcnow()
                progress = Progress(resource, held.seen, held.done)
            if on_page is not None:
                on_page(progress)
        with sessions() as session:
            final = session.get(Backfill, (project_id, "stripe", resource))
            assert final is not None
            found.append(Progress(resource, final.seen, final.done))
    return found


@dataclass(frozen=True)
class _Page:
    things: list[dict[str, Any]]
    cursor: str
    more: bool


def _state(sessions: sessionmaker[Session], project_id: int, resource: str) -> Backfill:
    with transaction(sessions) as session:
        row = session.get(Backfill, (project_id, "stripe", resource))
        if row is None:
            row = Backfill(project_id=project_id, source="stripe", resource=resource,
                           cursor="", seen=0, done=False, updated_at=utcnow())  # fmt: skip
            session.add(row)
            session.flush()
        session.expunge(row)
        return row


def _pages(
    client: stripe.StripeClient, resource: str, params: dict[str, Any], cursor: str, done: bool
) -> Iterator[_Page]:
    if done:
        return
    service = getattr(client.v1, resource)
    while True:
        query = {**params, "limit": PAGE, **({"starting_after": cursor} if cursor else {})}
        try:
            listed = service.list(params=query)
        except stripe.StripeError as exc:
            message = exc.user_message or str(exc) or type(exc).__name__
            raise BackfillError(f"Stripe stopped the {resource} listing: {message}") from None
        # The objects exactly as Stripe sent them (the library's objects turn decimal
        # strings into Decimal, which JSON columns cannot hold).
        raw = listed.last_response.data if listed.last_response is not None else {}
        things = [t for t in raw.get("data", []) if isinstance(t, dict)]
        cursor = things[-1]["id"] if things else cursor
        more = bool(listed.has_more) and bool(things)
        yield _Page(things, cursor, more)
        if not more:
            return


def _apply(session: Session, project_id: int, resource: str, thing: dict[str, Any],
           now: datetime) -> None:  # fmt: skip
    if resource == "events":
        with suppress(ValueError):  # not an event we can read: skipped, as a webhook would be
            apply_event(session, project_id, thing)
        return
    kind = thing.get("object")
    if kind not in KINDS or not isinstance(thing.get("id"), str):
        return
    if kind == "subscription" and _same_as_latest(session, project_id, thing):
        return
    store_object(session, project_id, str(kind), thing, now, source_event="backfill",
                 deleted=bool(thing.get("deleted")))  # fmt: skip


def _same_as_latest(session: Session, project_id: int, thing: dict[str, Any]) -> bool:
    latest = session.scalar(
        select(BillingObjectVersion.data)
        .where(BillingObjectVersion.project_id == project_id)
        .where(BillingObjectVersion.kind == "subscription")
        .where(BillingObjectVersion.external_id == thing["id"])
        .order_by(BillingObjectVersion.version_at.desc(), BillingObjectVersion.id.desc())
        .limit(1)
    )
    return latest == thing
