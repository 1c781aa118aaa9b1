"""The billing generator: each paying person's Stripe history, as webhook events applied
through the revenue area's Stripe source (``revenue.sources.stripe.apply_event``).

The story follows the population's plan history (``SimPerson.plans``): the subscription
starts when the person first pays, changes price at each upgrade or downgrade and is
cancelled when the plan falls back to free, so the person who cancels in the event data
churns here. On top of it the generator draws, from its own random stream, what the plan
history does not say: each person's terms first (``billing_terms.py``: annual Team
billing, the kitchens a Team pays for, coupons, trials before an upgrade and a few that
lapse), then renewal payments that fail and are retried, cancellations that are the end
of failed retries, and refunds.

Plan changes take effect at once without proration (``proration_behavior=none``): the
next renewal charges the new price. Cancellations are immediate. Renewals are told by
their invoices; the subscription is updated only when its price, quantity, status or
discount changes.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import datetime, timedelta

import numpy as np

from loopwise.core.db import transaction
from loopwise.demo.billing_terms import (
    TRIAL,
    PaidRun,
    Terms,
    add_months,
    draw_terms,
    stream,
)
from loopwise.demo.contracts import Delivered, DemoTarget
from loopwise.demo.population import Business, PlanChange, SimPerson
from loopwise.demo.stripe_objects import (
    Card,
    Decline,
    InvoiceState,
    Json,
    SubscriptionState,
    charge,
    customer,
    discount,
    event,
    invoice,
    refund,
    stamp,
    subscription,
    token,
)
from loopwise.revenue.facade import apply_event

FAILURE_RATE = 0.08  # renewals whose first payment attempt fails
RETRY_DAYS = (3, 5, 7)  # Stripe's retry schedule: days after the previous attempt
# Failed attempts before a recovered renewal is paid: 1, 2 or 3.
RECOVERY_AFTER = (0.6, 0.85)
REFUND_SHARE = 0.3  # monthly cancellations within a week of a payment refunded in full
ANNUAL_REFUND_SHARE = 0.5  # annual cancellations refunded for the unused months
FINALIZE = timedelta(hours=1)  # a renewal invoice is charged an hour after it is drafted
CHECKOUT = timedelta(seconds=60)  # the customer is created at checkout, before the plan

# Decline codes and their shares among failed renewals (insufficient funds first, as in
# Stripe's and card networks' published breakdowns of subscription payment failures).
DECLINES: tuple[tuple[Decline, float], ...] = (
    (Decline("card_declined", "insufficient_funds", "Your card has insufficient funds."), 0.40),
    (Decline("card_declined", "generic_decline", "Your card was declined."), 0.20),
    (Decline("card_declined", "do_not_honor", "Your card was declined."), 0.11),
    (Decline("expired_card", "expired_card", "Your card has expired."), 0.12),
    (Decline("incorrect_cvc", "incorrect_cvc", "Your card's security code is incorrect."), 0.06),
    (Decline("processing_error", "processing_error",
             "An error occurred while processing your card. Try again in a little bit."), 0.07),
    (Decline("card_declined", "lost_card", "Your card was declined."), 0.04),
)  # fmt: skip
_DECLINE_EDGES = np.cumsum([share for _, share in DECLINES])
CARD_BRANDS: tuple[tuple[str, float], ...] = (
    ("visa", 0.52), ("mastercard", 0.3), ("amex", 0.13), ("discover", 0.05),
)  # fmt: skip
_BRAND_EDGES = np.cumsum([share for _, share in CARD_BRANDS])


def person_billing_events(business: Business, person: SimPerson) -> list[Json]:
    """The person's Stripe webhook events up to the end of the simulation, in time order."""
    rng = stream(business, person)
    found = draw_terms(rng, business, person)
    if found is None:
        return []
    story = _Story(rng, business, person, found)
    if found.run is None:
        story.lapsed_trial()
    else:
        story.paid(found.run)
    return [e for _, _, e in sorted(story.events, key=lambda item: (item[0], item[1]))]


class _Story:
    """One customer's events, built one business step at a time."""

    def __init__(
        self, rng: np.random.Generator, business: Business, person: SimPerson, terms: Terms
    ) -> None:
        self.rng, self.person, self.terms, self.end = rng, person, terms, business.end
        self.events: list[tuple[int, int, Json]] = []
        brand = CARD_BRANDS[int(np.searchsorted(_BRAND_EDGES, rng.random()))][0]
        self.card = Card(brand, f"{int(rng.integers(10_000)):04d}", int(rng.integers(1, 13)),
                         int(business.end.year + rng.integers(1, 5)), person.country)  # fmt: skip
        self.subscription_id = token(rng, "sub_")
        self.item_id = token(rng, "si_", 14)
        self.invoice_count = 0
        self.latest_invoice: str | None = None
        self.anchor: datetime | None = None  # the billing cycle's first paid moment
        self.last_paid: tuple[InvoiceState, datetime] | None = None

    # --- the story -----------------------------------------------------------------------

    def lapsed_trial(self) -> None:
        start = self.terms.trial_start
        assert start is not None
        trial = (stamp(start), stamp(start + TRIAL))
        plan = self.terms.trial_plan
        self._customer(start - CHECKOUT)
        state = self._state(start, "trialing", plan, trial=trial)
        self.emit(start, "customer.subscription.created", subscription(state))
        ended = start + TRIAL
        gone = replace(state, status="canceled", canceled_at=stamp(ended), ended_at=stamp(ended),
                       cancellation_reason="cancellation_requested")  # fmt: skip
        self.emit(ended, "customer.subscription.deleted", subscription(gone))

    def paid(self, run: PaidRun) -> None:
        first = run.changes[0]
        self.anchor = run.start
        trial_start = self.terms.trial_start
        self._customer((trial_start or run.start) - CHECKOUT)
        if trial_start is not None:
            trial = (stamp(trial_start), stamp(run.start))
            state = self._state(trial_start, "trialing", first.plan, trial=trial)
            self.emit(trial_start, "customer.subscription.created", subscription(state))
            active = replace(self._state(run.start, "active", first.plan), trial=trial)
            self.emit(run.start, "customer.subscription.updated", subscription(active),
                      {"status": "trialing"})  # fmt: skip
        else:
            state = self._state(run.start, "active", first.plan)
            self.emit(run.start, "customer.subscription.created", subscription(state))
        involuntary = self._periods(run)
        if run.end is not None:
            self._cancel(run, involuntary)

    def _periods(self, run: PaidRun) -> bool:
        """Every service period's invoice and the plan changes between them, in time
        order; True when the last invoice was never paid and the subscription ends for it."""
        stop = min(run.end or self.end, self.end)
        starts = self._period_starts(run.start, stop)
        changes = [c.at for c in run.changes[1:]]
        pending = list(zip(run.changes, run.changes[1:], strict=False))
        for k, start in enumerate(starts):
            while pending and pending[0][1].at < start:
                self._change(*pending.pop(0))
            later = [t for t in (*changes, *starts[k + 1 : k + 2], stop) if t > start]
            boundary = min(later, default=stop)
            plan = run.plan_at(start)
            if k == 0:
                self._collect(start, plan, "subscription_create", start + timedelta(seconds=5),
                              boundary, fails=False)  # fmt: skip
            elif (
                k == len(starts) - 1 and run.ended_by == "cancel" and self.terms.involuntary
                and not [t for t in changes if t > start]
                and run.end is not None and run.end - (start + FINALIZE) >= timedelta(days=1)
            ):  # fmt: skip
                self._dunning(start, plan, run.end)
                return True
            else:
                self._collect(start, plan, "subscription_cycle", start + FINALIZE, boundary)
        for before, change in pending:
            self._change(before, change)
        return False

    def _period_starts(self, anchor: datetime, stop: datetime) -> list[datetime]:
        months = 12 if self.terms.annual else 1
        starts, k = [], 0
        while (at := add_months(anchor, k * months)) < stop:
            starts.append(at)
            k += 1
        return starts

    def _collect(
        self, start: datetime, plan: str, reason: str, attempt: datetime, boundary: datetime,
        *, fails: bool = True,
    ) -> None:  # fmt: skip
        """Charge one period's invoice; a failed renewal is retried on Stripe's schedule
        and paid before anything else happens to the subscription (or the data ends)."""
        draws = self.rng.random(3)
        bill = self._invoice(start, plan, reason)
        failed = 0
        if fails and draws[0] < FAILURE_RATE:
            failed = 1 + int(draws[2] >= RECOVERY_AFTER[0]) + int(draws[2] >= RECOVERY_AFTER[1])
        times = [attempt]
        for days in RETRY_DAYS:
            times.append(times[-1] + timedelta(days=days))
        ends = boundary >= self.end  # the data ends before anything else happens
        while failed and not ends and times[failed] + timedelta(minutes=5) >= boundary:
            failed -= 1
        decline = _decline(float(draws[1]))
        for number in range(1, failed + 1):
            bill = self._failed_attempt(bill, number, times[number - 1], times[number], decline)
        paid_at = times[failed]
        charge_id = token(self.rng, "ch_")
        bill = replace(bill, status="paid", attempt_count=failed + 1, charge_id=charge_id,
                       paid_at=stamp(paid_at), next_payment_attempt=None)  # fmt: skip
        self.emit(paid_at, "invoice.paid", invoice(bill))
        if failed:
            self._status(paid_at + timedelta(seconds=3), "active", "past_due")
        if paid_at <= self.end:
            self.last_paid = (bill, paid_at)

    def _dunning(self, start: datetime, plan: str, cancel_at: datetime) -> None:
        """The last renewal's payment fails at every retry; the subscription is cancelled
        when the retries run out and the invoice marked uncollectible."""
        bill = self._invoice(start, plan, "subscription_cycle")
        decline = _decline(float(self.rng.random()))
        first = start + FINALIZE
        span = cancel_at - first
        count = min(len(RETRY_DAYS) + 1, 1 + int(span / timedelta(days=3)))
        times = [first + span * i / count for i in range(count)]
        for number, at in enumerate(times, start=1):
            retry = times[number] if number < count else None
            bill = self._failed_attempt(bill, number, at, retry, decline)
        gone = replace(bill, status="uncollectible", next_payment_attempt=None)
        self.emit(cancel_at + timedelta(seconds=2), "invoice.marked_uncollectible", invoice(gone))

    def _failed_attempt(
        self, bill: InvoiceState, number: int, at: datetime, retry: datetime | None,
        decline: Decline,
    ) -> InvoiceState:  # fmt: skip
        charge_id = token(self.rng, "ch_")
        bill = replace(bill, attempt_count=number, charge_id=charge_id,
                       next_payment_attempt=stamp(retry) if retry else None)  # fmt: skip
        self.emit(at, "charge.failed", charge(charge_id, bill, self.card, stamp(at),
                                              decline=decline))  # fmt: skip
        self.emit(at + timedelta(seconds=2), "invoice.payment_failed", invoice(bill))
        if number == 1:
            self._status(at + timedelta(seconds=3), "past_due", "active")
        return bill

    def _change(self, before: PlanChange, change: PlanChange) -> None:
        state = self._state(change.at, "active", change.plan)
        old = self.terms.price(before.plan)
        previous = {
            "items": {
                "data": [{"price": {"id": old.id}, "quantity": self.terms.quantity(before.plan)}]
            }
        }
        self.emit(change.at, "customer.subscription.updated", subscription(state), previous)

    def _cancel(self, run: PaidRun, involuntary: bool) -> None:
        assert run.end is not None
        at = run.end
        plan = run.plan_at(at)
        status = "past_due" if involuntary else "active"
        gone = replace(self._state(at, status, plan), status="canceled", canceled_at=stamp(at),
                       ended_at=stamp(at), discount=None,
                       cancellation_reason="payment_failed" if involuntary
                       else "cancellation_requested")  # fmt: skip
        self.emit(at, "customer.subscription.deleted", subscription(gone))
        wants_refund = self.rng.random()
        if involuntary or self.last_paid is None:
            return
        bill, paid_at = self.last_paid
        period_start, period_end = bill.period
        if self.terms.annual:
            unused = (period_end - stamp(at)) / (period_end - period_start)
            amount = int(bill.total * max(unused, 0.0))
            wanted = wants_refund < ANNUAL_REFUND_SHARE
        else:
            amount = bill.total
            wanted = wants_refund < REFUND_SHARE and at - paid_at < timedelta(days=7)
        if wanted and amount > 0:
            when = at + timedelta(minutes=10)
            back = refund(token(self.rng, "re_"), bill.charge_id, amount, stamp(when))
            self.emit(when, "charge.refunded", charge(bill.charge_id, bill, self.card,
                                                      bill.paid_at or stamp(paid_at),
                                                      refund=back))  # fmt: skip

    # --- building blocks -----------------------------------------------------------------

    def emit(self, at: datetime, kind: str, thing: Json, previous: Json | None = None) -> None:
        """Record an event at ``at``, unless the simulation has ended by then."""
        if at > self.end:
            return
        created = stamp(at)
        found = event(token(self.rng, "evt_"), kind, thing, created, previous)
        self.events.append((created, len(self.events), found))

    def _customer(self, at: datetime) -> None:
        person = self.person
        thing = customer(self.terms.customer_id, stamp(at), email=person.email,
                         name=person.name, user_id=person.distinct_id, company=person.company,
                         country=person.country)  # fmt: skip
        self.emit(at, "customer.created", thing)

    def _state(
        self, at: datetime, status: str, plan: str, *, trial: tuple[int, int] | None = None
    ) -> SubscriptionState:
        created = stamp(self.terms.trial_start or (self.anchor or at))
        period = trial or self._period(at)
        return SubscriptionState(
            self.subscription_id, self.item_id, self.terms.customer_id, created, status,
            self.terms.price(plan), self.terms.quantity(plan), period,
            discount=self._discount(at), trial=trial, latest_invoice=self.latest_invoice,
        )  # fmt: skip

    def _period(self, at: datetime) -> tuple[int, int]:
        anchor = self.anchor or at
        months = 12 if self.terms.annual else 1
        k = 0
        while add_months(anchor, (k + 1) * months) <= at:
            k += 1
        return stamp(add_months(anchor, k * months)), stamp(add_months(anchor, (k + 1) * months))

    def _discount(self, at: datetime) -> Json | None:
        coupon, anchor = self.terms.coupon, self.anchor
        if coupon is None or anchor is None or at < anchor:
            return None
        ends = add_months(anchor, coupon.months) if coupon.months else None
        if ends is not None and at >= ends:
            return None
        discount_id = "di_" + self.subscription_id[4:]
        return discount(discount_id, coupon, self.terms.customer_id, self.subscription_id,
                        stamp(anchor), stamp(ends) if ends else None)  # fmt: skip

    def _invoice(self, start: datetime, plan: str, reason: str) -> InvoiceState:
        self.invoice_count += 1
        price, quantity = self.terms.price(plan), self.terms.quantity(plan)
        subtotal = price.unit_amount * quantity
        found = self._discount(start)
        off = found["coupon"]["percent_off"] if found else 0
        months = 12 if self.terms.annual else 1
        period = (stamp(start), stamp(add_months(start, months)))
        customer_id = self.terms.customer_id
        self.latest_invoice = token(self.rng, "in_")
        return InvoiceState(
            self.latest_invoice, f"{customer_id[4:12].upper()}-{self.invoice_count:04d}",
            customer_id, self.person.email, self.subscription_id, self.item_id,
            token(self.rng, "il_"), "", stamp(start), price, quantity, period, subtotal,
            round(subtotal * off / 100), reason, "open", 0,
        )  # fmt: skip

    def _status(self, at: datetime, status: str, was: str) -> None:
        run = self.terms.run
        assert run is not None
        state = self._state(at, status, run.plan_at(at))
        self.emit(at, "customer.subscription.updated", subscription(state), {"status": was})


def _decline(u: float) -> Decline:
    index = min(int(np.searchsorted(_DECLINE_EDGES, u * _DECLINE_EDGES[-1])), len(DECLINES) - 1)
    return DECLINES[index][0]


class StripeBilling:
    """Generator of Stripe webhook events, applied through the revenue area's Stripe
    source; needs the app database (``DemoTarget.sessions``)."""

    name = "stripe billing"
    app_database = True
    batch_size = 2_000  # events per transaction: each one a few kilobytes of JSON

    def generate(self, business: Business, people: Sequence[SimPerson]) -> Iterator[Json]:
        for person in people:
            yield from person_billing_events(business, person)

    def deliver(self, target: DemoTarget, records: Sequence[Json]) -> Delivered:
        with transaction(target.app_database()) as session:
            for found in records:
                apply_event(session, target.project_id, found)
        return Delivered(billing_events=len(records))
