"""The MRR engine on a hand-built book of customers: every movement type and each
convention, with the expected figures worked out in the comments (amounts in cents)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from loopwise.revenue.mrr import (
    Conventions,
    Discount,
    Item,
    State,
    monthly,
    movements,
    periods,
)

UNTIL = datetime(2026, 4, 1, tzinfo=UTC)
MARCH = [date(2026, 3, 1)]


def on(month: int, day: int) -> datetime:
    return datetime(2026, month, day, 12, tzinfo=UTC)


def plan(dollars: float, interval: str = "month", seats: int = 1, count: int = 1) -> Item:
    return Item(unit_amount=round(dollars * 100), interval=interval,  # type: ignore[arg-type]
                interval_count=count, quantity=seats)  # fmt: skip


def sub(sid: str, customer: str, since: datetime, *items: Item, **more: object) -> State:
    return State(sid, customer, since, str(more.pop("status", "active")), items, **more)  # type: ignore[arg-type]


def test_an_annual_plan_for_four_seats_is_normalised_to_a_month() -> None:
    # $500 per seat per year, 4 seats: $2,000 a year, $166.67 a month.
    assert monthly(plan(500, "year", seats=4)).quantize(Decimal("1")) == Decimal(16667)
    assert monthly(plan(90, "month", count=3)) == Decimal(3000)  # quarterly $90: $30
    assert monthly(Item(1000, "month", metered=True)) == 0  # usage is not MRR


BOOK = [
    # Start of March: a 500 + b 440 + c 60 = $1,000.
    sub("sa", "a", on(1, 10), plan(500)),
    sub("sb", "b", on(1, 10), plan(440)),
    sub("sc", "c", on(1, 10), plan(60)),
    # In March: a expands to 550 (+50), b contracts to 400 (-40), c churns (-60),
    # d is new at 100 (+100): $1,000 + 100 + 50 - 40 - 60 = $1,050.
    sub("sa", "a", on(3, 5), plan(550)),
    sub("sb", "b", on(3, 9), plan(400)),
    sub("sc", "c", on(3, 12), plan(60), status="canceled", ended_at=on(3, 12)),
    sub("sd", "d", on(3, 20), plan(100)),
]


def test_movements_of_a_month_add_up_from_1000_to_1050() -> None:
    ledger = movements(BOOK, Conventions(), "UTC", UNTIL)
    [march] = periods(ledger, MARCH, date(2026, 4, 1))
    assert (march.new, march.expansion, march.contraction, march.churn) == (
        10000, 5000, -4000, -6000,
    )  # fmt: skip
    assert march.mrr == 105000
    assert march.customers == 3  # a, b, d
    assert march.mrr == 100000 + march.net
    kinds = [(c.customer_id, c.kind) for c in ledger.changes if c.day.month == 3]
    assert kinds == [("a", "expansion"), ("b", "contraction"), ("c", "churn"), ("d", "new")]
    # Rates over March's start (3 customers, $1,000): 1 of 3 customers churned; gross MRR
    # churn (60 + 40) / 1000 = 10%; net (100 - 50) / 1000 = 5%; quick ratio
    # (100 + 50) / (60 + 40) = 1.5; ARPA 1050 / 3 = $350.
    assert (march.start_customers, march.start_mrr) == (3, 100000)
    assert march.customer_churn_rate == Decimal(1) / 3
    assert (march.gross_mrr_churn_rate, march.net_mrr_churn_rate) == (
        Decimal("0.1"),
        Decimal("0.05"),
    )
    assert march.quick_ratio == Decimal("1.5")
    assert march.arpa == 35000


def test_a_returning_customer_is_a_reactivation_and_trials_are_not_mrr() -> None:
    book = [
        sub("s1", "e", on(1, 5), plan(80)),
        sub("s1", "e", on(2, 1), plan(80), status="canceled", ended_at=on(2, 1)),
        sub("s2", "e", on(3, 3), plan(90)),  # back in March: reactivation, not new
        sub("s3", "f", on(3, 1), plan(50), status="trialing"),
        sub("s3", "f", on(3, 15), plan(50)),  # trial converts: new from the 15th
    ]
    ledger = movements(book, Conventions(), "UTC", UNTIL)
    [march] = periods(ledger, MARCH, date(2026, 4, 1))
    assert (march.reactivation, march.new, march.mrr) == (9000, 5000, 14000)


def test_two_subscriptions_changing_on_one_day_net_out() -> None:
    book = [
        sub("x1", "g", on(1, 5), plan(100)),
        sub("x2", "g", on(1, 5), plan(30)),
        # On 10 March g upgrades x1 to 150 and cancels x2: one expansion of +20.
        sub("x1", "g", on(3, 10), plan(150)),
        sub("x2", "g", on(3, 10), plan(30), status="canceled", ended_at=on(3, 10)),
    ]
    ledger = movements(book, Conventions(), "UTC", UNTIL)
    march = [c for c in ledger.changes if c.day.month == 3]
    assert [(c.kind, c.amount, c.subscriptions) for c in march] == [
        ("expansion", 2000, ("x1", "x2"))
    ]


def test_conventions_discounts_churn_recognition_and_past_due() -> None:
    discounted = [
        sub("d1", "h", on(3, 1), plan(100), discount=Discount(percent_off=Decimal(20))),
        sub("d2", "i", on(3, 1), plan(100),
            discount=Discount(amount_off=1000, duration="repeating", ends_at=on(3, 20))),
    ]  # fmt: skip
    every = periods(movements(discounted, Conventions(), "UTC", UNTIL), MARCH, date(2026, 4, 1))
    # All discounts: h 100 - 20% = 80; i 100 - 10 = 90 until the 20th, then 100.
    assert every[0].mrr == 18000
    assert every[0].expansion == 1000
    forever_only = Conventions(discounts="forever")
    only = periods(movements(discounted, forever_only, "UTC", UNTIL), MARCH, date(2026, 4, 1))
    assert only[0].mrr == 18000  # h's coupon is forever; i's repeating one is ignored
    assert only[0].new == 8000 + 10000

    cancelled = [
        sub("k", "k", on(1, 5), plan(70)),
        sub("k", "k", on(3, 5), plan(70), canceled_at=on(3, 5), ended_at=on(4, 5)),
    ]
    at_end = movements(cancelled, Conventions(), "UTC", UNTIL)
    assert [c.kind for c in at_end.changes if c.day.month == 3] == []  # still paying
    at_request = movements(cancelled, Conventions(churn_at="request"), "UTC", UNTIL)
    assert [(c.day, c.kind) for c in at_request.changes if c.day.month == 3] == [
        (date(2026, 3, 5), "churn")
    ]

    overdue = [
        sub("p", "p", on(1, 5), plan(40)),
        sub("p", "p", on(3, 1), plan(40), status="past_due", past_due_since=on(3, 1)),
    ]
    kept = movements(overdue, Conventions(), "UTC", UNTIL)
    assert kept.final["p"] == 4000  # past due keeps MRR until cancelled
    churned = movements(overdue, Conventions(past_due_days=14), "UTC", UNTIL)
    assert [(c.day, c.kind) for c in churned.changes if c.day.month == 3] == [
        (date(2026, 3, 15), "churn")
    ]


def test_days_are_cut_in_the_projects_time_zone() -> None:
    late = datetime(2026, 3, 31, 23, 30, tzinfo=UTC)  # 1 April in Berlin
    book = [sub("z", "z", late, plan(10))]
    berlin = movements(book, Conventions(), "Europe/Berlin", datetime(2026, 4, 2, tzinfo=UTC))
    assert berlin.changes[0].day == date(2026, 4, 1)
