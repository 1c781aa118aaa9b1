"""A small hand-built book for the Movements, Customers and Payment health pages, written
through the real write paths (CSV subscription import and Stripe webhook events), with
every time relative to ``now`` so the pages' default ranges (the last 90 days) hold it.

Customers (T = today, UTC):

- ``cus_a`` (CSV): $50/month "basic" from T-40, upgraded to $80 "pro" on T-10: paying.
- ``cus_b`` (CSV): $100 "pro" from T-30, cancelled and ended on T-5: churned.
- ``cus_c`` (CSV): $20 "basic" from T-200, down to $10 on T-20: paying.
- ``cus_d`` (CSV): trialing "pro" from T-15: trialing.
- ``cus_e`` (Stripe customer "Erin", no subscription): never paid.
- ``cus_f`` (Stripe "Fay"): $200 "pro" from T-60; invoice ``in_f1`` ($200) failed on
  T-3 (1 hour before that day's mark) and again on T-1, both ``insufficient_funds``, next
  retry T+4; the subscription went past due on T-3: past due.
- ``cus_g`` (Stripe "Gus"): $100 "team" from T-60; invoice ``in_g1`` ($100) failed on
  T-20 (``expired_card``) and was paid on T-18: paying.
- ``cus_h`` (Stripe "Hal", no subscription): invoice ``in_h1`` ($50) failed on T-10
  (``do_not_honor``), marked uncollectible on T-9: never paid.
- ``cus_i`` (Stripe "Ivy", no subscription): invoice ``in_i1`` ($70) failed on T-120 and
  is still open, but a later invoice ``in_i2`` (T-100) was paid: never paid.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from loopwise.revenue.facade import import_subscriptions
from loopwise.revenue.sources.stripe import apply_event
from tests.factories import TEST_ACTOR

DAY = timedelta(days=1)


def _stamp(moment: datetime) -> int:
    return int(moment.timestamp())


class _Events:
    def __init__(self, session: Session, project_id: int) -> None:
        self.session, self.project_id, self.count = session, project_id, 0

    def send(self, kind: str, thing: dict[str, Any], at: datetime) -> None:
        self.count += 1
        event = {"id": f"evt_book{self.count}", "object": "event", "type": kind,
                 "created": _stamp(at), "data": {"object": thing}}  # fmt: skip
        assert apply_event(self.session, self.project_id, event).outcome == "applied"


def _customer(key: str, name: str, user_id: str = "") -> dict[str, Any]:
    return {"id": f"cus_{key}", "object": "customer", "email": f"{key}@x.io", "name": name,
            "metadata": {"user_id": user_id} if user_id else {}}  # fmt: skip


def _subscription(key: str, status: str, amount: int, plan: str, start: datetime) -> dict[str, Any]:
    price = {"id": f"price_{plan}", "nickname": plan, "unit_amount": amount, "currency": "usd",
             "recurring": {"interval": "month"}}  # fmt: skip
    return {"id": f"sub_{key}", "object": "subscription", "customer": f"cus_{key}",
            "status": status, "start_date": _stamp(start),
            "items": {"data": [{"price": price, "quantity": 1}]}}  # fmt: skip


def _invoice(name: str, key: str, status: str, amount: int, created: datetime,
             attempts: int = 0, retry: datetime | None = None) -> dict[str, Any]:  # fmt: skip
    return {"id": name, "object": "invoice", "customer": f"cus_{key}", "status": status,
            "amount_due": amount, "currency": "usd", "created": _stamp(created),
            "attempt_count": attempts,
            "next_payment_attempt": _stamp(retry) if retry else None}  # fmt: skip


def _failed_charge(name: str, key: str, invoice: str, amount: int, at: datetime,
                   reason: str) -> dict[str, Any]:  # fmt: skip
    return {"id": name, "object": "charge", "customer": f"cus_{key}", "status": "failed",
            "amount": amount, "currency": "usd", "invoice": invoice, "created": _stamp(at),
            "failure_code": "card_declined", "outcome": {"reason": reason}}  # fmt: skip


def _fail(events: _Events, invoice: dict[str, Any], charge: dict[str, Any], at: datetime) -> None:
    """Stripe's order: the charge fails, then the invoice's payment."""
    events.send("charge.failed", charge, at - timedelta(minutes=1))
    events.send("invoice.payment_failed", invoice, at)


def csv_history(now: datetime) -> str:
    today = now.date()

    def d(days: int) -> str:
        return (today - timedelta(days=days)).isoformat()

    return (
        "subscription_id,customer_id,effective_at,status,amount,currency,interval,plan,ended_at\n"
        f"sub_a,cus_a,{d(40)},active,50,usd,month,basic,\n"
        f"sub_a,cus_a,{d(10)},active,80,usd,month,pro,\n"
        f"sub_b,cus_b,{d(30)},active,100,usd,month,pro,\n"
        f"sub_b,cus_b,{d(5)},canceled,100,usd,month,pro,{d(5)}\n"
        f"sub_c,cus_c,{d(200)},active,20,usd,month,basic,\n"
        f"sub_c,cus_c,{d(20)},active,10,usd,month,basic,\n"
        f"sub_d,cus_d,{d(15)},trialing,30,usd,month,pro,\n"
    )


def build_book(session: Session, project_id: int, now: datetime, *, erin_user: str = "") -> None:
    """Write the book above (``erin_user``: the product user id cus_e links to)."""
    import_subscriptions(session, TEST_ACTOR, project_id, csv_history(now))
    events = _Events(session, project_id)
    for key, name in (("e", "Erin"), ("f", "Fay"), ("g", "Gus"), ("h", "Hal"), ("i", "Ivy")):
        user = erin_user if key == "e" else ""
        events.send("customer.created", _customer(key, name, user), now - 70 * DAY)
    for key, amount, plan in (("f", 20000, "pro"), ("g", 10000, "team")):
        start = now - 60 * DAY
        events.send("customer.subscription.created",
                    _subscription(key, "active", amount, plan, start), start)  # fmt: skip
    # cus_f: two failures of in_f1, the subscription past due in between.
    first, second, retry = now - 3 * DAY - timedelta(hours=1), now - DAY, now + 4 * DAY
    code = "insufficient_funds"
    _fail(events, _invoice("in_f1", "f", "open", 20000, first - DAY, 1, now + DAY),
          _failed_charge("ch_f1", "f", "in_f1", 20000, first, code), first)  # fmt: skip
    late = _subscription("f", "past_due", 20000, "pro", now - 60 * DAY)
    events.send("customer.subscription.updated", late, now - 3 * DAY)
    _fail(events, _invoice("in_f1", "f", "open", 20000, first - DAY, 2, retry),
          _failed_charge("ch_f2", "f", "in_f1", 20000, second, code), second)  # fmt: skip
    # cus_g: failed, then paid.
    failed = now - 20 * DAY
    _fail(events, _invoice("in_g1", "g", "open", 10000, failed - DAY, 1, failed + 2 * DAY),
          _failed_charge("ch_g1", "g", "in_g1", 10000, failed, "expired_card"), failed)  # fmt: skip
    events.send("invoice.paid", _invoice("in_g1", "g", "paid", 10000, failed - DAY),
                now - 18 * DAY)  # fmt: skip
    # cus_h: failed, then written off.
    failed = now - 10 * DAY
    _fail(events, _invoice("in_h1", "h", "open", 5000, failed - DAY, 1),
          _failed_charge("ch_h1", "h", "in_h1", 5000, failed, "do_not_honor"), failed)  # fmt: skip
    written_off = _invoice("in_h1", "h", "uncollectible", 5000, failed - DAY)
    events.send("invoice.marked_uncollectible", written_off, now - 9 * DAY)
    # cus_i: an old failure left open, and a later invoice paid.
    failed = now - 120 * DAY
    _fail(events, _invoice("in_i1", "i", "open", 7000, failed - DAY, 1),
          _failed_charge("ch_i1", "i", "in_i1", 7000, failed, "do_not_honor"), failed)  # fmt: skip
    events.send("invoice.paid", _invoice("in_i2", "i", "paid", 7000, now - 100 * DAY),
                now - 100 * DAY)  # fmt: skip
