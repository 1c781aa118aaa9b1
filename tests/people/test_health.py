"""The health score on hand-built signals: each case's score is worked out by hand from
the documented curves (people/health.py), and its reasons carry the person's numbers."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta

import pytest

from loopwise.people.contracts import DEFAULT_WEIGHTS, Health, PeopleConfig, Signals
from loopwise.people.health import UsualWeek, score, usual_week

NOW = datetime(2026, 3, 20, 12, tzinfo=UTC)
DAY, HOUR = timedelta(days=1), timedelta(hours=1)
DEFAULTS = PeopleConfig()


def engagement(days_since_seen: float, events_7d: int) -> float:
    """Half recency (1 within a day, 0 at 7 days), half volume (sqrt(events / 20))."""
    recency = min(1.0, max(0.0, 1 - (days_since_seen - 1) / 6))
    return (recency + min(1.0, math.sqrt(events_7d / 20))) / 2


def texts(health: Health) -> list[str]:
    return [r.text for r in health.reasons]


def component(health: Health, key: str) -> tuple[float, float | None]:
    found = next(c for c in health.components if c.key == key)
    return found.weight, found.score


ENGAGED_PAYER = Signals(
    person_id="p1", now=NOW, first_seen=NOW - 200 * DAY, last_seen=NOW - 2 * HOUR,
    active_days_28d=20, events_7d=40, weekly_baseline=35.0, errors_7d=0, core_adopted=4,
    core_total=5, billing_status="paying", mrr_minor=5000,
)  # fmt: skip
DECLINING = Signals(
    person_id="p2", now=NOW, first_seen=NOW - 100 * DAY, last_seen=NOW - 3 * DAY,
    active_days_28d=8, events_7d=6, weekly_baseline=20.0, core_adopted=1, core_total=4,
)  # fmt: skip
FAILING = Signals(
    person_id="p3", now=NOW, first_seen=NOW - 60 * DAY, last_seen=NOW - DAY,
    active_days_28d=6, events_7d=10, weekly_baseline=12.0, errors_7d=5,
    billing_status="past_due", mrr_minor=2000, payment_failures_30d=2, open_failures=1,
    open_tickets=1, tickets_30d=1, negative_tickets_30d=1,
)  # fmt: skip


def test_an_engaged_payer_is_healthy_for_the_reasons_that_hold_them_up() -> None:
    health = score(ENGAGED_PAYER, DEFAULTS)
    # Every component at full marks but adoption (4 of 5): 100 - 15 * 0.2 = 97.
    assert (health.score, health.band) == (97, "healthy")
    assert all(r.points > 0 for r in health.reasons)
    assert texts(health) == [
        "active this week: 40 events in the last 7 days",
        "usage up 14% vs their 4-week average",  # 40 against 35 a week
        "active 20 of the last 28 days",
    ]
    assert [r.points for r in health.reasons] == [20.0, 15.0, 15.0]
    assert component(health, "adoption") == (15.0, 0.8)


def test_a_declining_user_is_at_risk_and_told_by_how_much_usage_fell() -> None:
    health = score(DECLINING, DEFAULTS)
    # No billing: payments and subscription do not apply, the other 85 points scale to 100.
    points = (20 * engagement(3, 6) + 15 * (6 / 20) + 15 * (8 / 12) + 15 * (1 / 4)
              + 10 * 1 + 10 * 1)  # fmt: skip
    assert health.score == round(points / 85 * 100) == 59
    assert health.band == "at_risk"
    drop = round((1 - 6 / 20) * 100)
    assert f"usage down {drop}% vs their 4-week average" in texts(health)
    assert "uses 1 of 4 core features" in texts(health)
    negatives = [r for r in health.reasons if r.points < 0]
    assert [r.component for r in negatives] == ["adoption", "trend"]  # 13.2 then 12.4 lost
    assert negatives[1].points == pytest.approx(-15 / 85 * 100 * (1 - 6 / 20))


def test_payment_failures_and_errors_are_named_with_their_counts() -> None:
    health = score(FAILING, DEFAULTS)
    # Adoption does not apply (no core features): 85 points scale to 100.
    points = (20 * engagement(1, 10) + 15 * (10 / 12) + 15 * (6 / 12) + 10 * (1 - 5 / 10)
              + 10 * (1 - 0.25 * 2) + 10 * (1 - 0.25 * 2) * 0.5 + 5 * 1)  # fmt: skip
    assert health.score == round(points / 85 * 100) == 64
    assert health.band in ("at_risk", "critical")
    negatives = [r.text for r in health.reasons if r.points < 0]
    assert negatives == [
        "2 failed payments in the last 30 days, 1 invoice still unpaid",
        "5 errors in the last 7 days",
        "1 open ticket and 1 negative ticket in the last 30 days",
    ]
    worse = score(Signals(**{**FAILING.__dict__, "payment_failures_30d": 4}), DEFAULTS)
    assert "4 failed payments in the last 30 days, 1 invoice still unpaid" in texts(worse)
    assert worse.score < health.score


def test_edited_weights_change_the_score_as_computed_by_hand() -> None:
    weights = DEFAULT_WEIGHTS | {"trend": 0, "adoption": 45}
    health = score(DECLINING, PeopleConfig(weights=weights))
    # 20 + 0 + 15 + 45 + 10 + 10 = 100 points apply: no scaling.
    points = 20 * engagement(3, 6) + 15 * (8 / 12) + 45 * (1 / 4) + 10 + 10
    assert health.score == round(points) == 53
    assert component(health, "trend") == (0.0, 0.3)
    assert not any(r.component == "trend" for r in health.reasons)  # weighs nothing


def test_components_that_do_not_apply_are_dropped_and_the_rest_rescaled() -> None:
    health = score(DECLINING, DEFAULTS)
    weights = {c.key: c.weight for c in health.components}
    assert (weights["payments"], weights["subscription"]) == (0.0, 0.0)
    assert component(health, "payments")[1] is None
    assert weights["engagement"] == pytest.approx(20 / 85 * 100)
    assert sum(weights.values()) == pytest.approx(100)
    # All applicable weights zero: they share equally.
    zero = dict.fromkeys(DEFAULT_WEIGHTS, 0) | {"payments": 50}
    equal = score(DECLINING, PeopleConfig(weights=zero))
    shares = [c.weight for c in equal.components if c.score is not None]
    assert shares == pytest.approx([100 / 6] * 6)


def test_a_person_never_seen_without_billing_scores_low_and_says_why() -> None:
    nobody = Signals(person_id="p4", now=NOW, core_total=3)
    health = score(nobody, DEFAULTS)
    # Engagement, frequency and adoption 0; support full: 10 of 60 points.
    assert (health.score, health.band) == (round(10 / 60 * 100), "critical")
    assert texts(health)[0] == "not seen in the last 28 days"
    assert component(health, "trend")[1] is None
    assert component(health, "errors")[1] is None


def test_a_newcomer_has_no_trend_and_a_three_week_old_user_a_shorter_baseline() -> None:
    newcomer = Signals(person_id="p5", now=NOW, first_seen=NOW - 10 * DAY,
                       last_seen=NOW - HOUR, events_7d=8, weekly_baseline=2.0)  # fmt: skip
    assert component(score(newcomer, DEFAULTS), "trend")[1] is None
    # First seen 21 days ago: 2 weeks of the 4 before the last 7 days; 20 events then make
    # a usual week of 10, not 5.
    young = Signals(person_id="p6", now=NOW, first_seen=NOW - 21 * DAY,
                    last_seen=NOW - HOUR, events_7d=5, weekly_baseline=20 / 4)  # fmt: skip
    health = score(young, DEFAULTS)
    assert component(health, "trend")[1] == pytest.approx(0.5)
    assert "usage down 50% vs their 2-week average" in texts(health)


def test_the_usual_week_is_taken_over_the_weeks_a_person_was_around() -> None:
    assert usual_week(None, 5.0, NOW) is None
    assert usual_week(NOW - 13 * DAY, 5.0, NOW) is None  # no usual week yet
    # 5 a week over the 4 weeks before the last 7 days: 20 events in the 2 weeks of them
    # a person first seen 21 days ago was around, 1 week of them at 14 days.
    assert usual_week(NOW - 21 * DAY, 5.0, NOW) == UsualWeek(10.0, 2.0)
    assert usual_week(NOW - 14 * DAY, 5.0, NOW) == UsualWeek(20.0, 1.0)
    assert usual_week(NOW - 200 * DAY, 5.0, NOW) == UsualWeek(5.0, 4.0)
    three = usual_week(NOW - 24 * DAY - 12 * HOUR, 3.0, NOW)
    assert three is not None
    assert (three.weeks, three.average) == (2.5, "their 2-week average")
    assert three.versus(3) == "down 38% vs their 2-week average"  # 3 against 4.8
    assert UsualWeek(5.0, 4.0).versus(7) == "up 40% vs their 4-week average"


def test_a_churned_customer_loses_the_subscription_points() -> None:
    churned = Signals(**{**ENGAGED_PAYER.__dict__, "billing_status": "churned",
                         "mrr_minor": 0, "churned_on": date(2026, 3, 10),
                         "downgrades_30d": 1})  # fmt: skip
    health = score(churned, DEFAULTS)
    assert component(health, "subscription") == (5.0, 0.0)
    assert health.score == 97 - 5
    assert any(r.text == "churned on 2026-03-10" and r.points == -5.0 for r in health.reasons)


@pytest.mark.parametrize(
    ("healthy_from", "at_risk_from", "expected"),
    [(97, 50, "healthy"), (98, 50, "at_risk"), (98, 97, "at_risk"), (99, 98, "critical")],
)
def test_the_band_follows_the_project_thresholds(
    healthy_from: int, at_risk_from: int, expected: str
) -> None:
    config = PeopleConfig(healthy_from=healthy_from, at_risk_from=at_risk_from)
    health = score(ENGAGED_PAYER, config)
    assert (health.score, health.band) == (97, expected)


def test_the_score_survives_its_json_form() -> None:
    health = score(FAILING, DEFAULTS)
    back = Health.from_json(health.to_json())
    assert back is not None
    assert (back.score, back.band, [r.text for r in back.reasons]) == (
        health.score, health.band, texts(health))  # fmt: skip
    assert [c.value for c in back.components][:2] == [
        "10 events in the last 7 days, last seen 1 day ago",
        "10 events vs 12 a week before",
    ]
