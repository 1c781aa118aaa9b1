"""The simulated business shows the patterns the analytics screens are built to find.

Statistical checks on one fixed-seed business (500 people, 120 days); the thresholds leave
room for chance but fail if a pattern disappears.
"""

from __future__ import annotations

import json
from datetime import timedelta

import polars as pl

from loopwise.demo import catalog
from tests.demo.conftest import LoadedDemo

PRODUCT_EVENTS = {"$pageview"} | {name for f in catalog.FEATURES for name in f.events}


def _properties(frame: pl.DataFrame) -> list[dict[str, object]]:
    return [json.loads(text) for text in frame["properties"].to_list()]


def test_every_person_who_signs_up_identifies_with_an_email(demo: LoadedDemo) -> None:
    frame = demo.frame
    signed_up = set(frame.filter(pl.col("event") == "signed_up")["distinct_id"].to_list())
    identifies = frame.filter(pl.col("event") == "$identify")
    emails = {
        row["distinct_id"]: json.loads(row["properties"])
        for row in identifies.iter_rows(named=True)
    }
    assert len(signed_up) > 200
    for distinct_id in signed_up:
        props = emails[distinct_id]
        assert "@" in props["$set"]["email"]
        assert props["$anon_distinct_id"]


def test_identify_links_the_anonymous_landing_visit(demo: LoadedDemo) -> None:
    frame = demo.frame
    signups = [
        props
        for props in _properties(frame.filter(pl.col("event") == "$identify"))
        if "$set_once" in props  # identifies at sign-up; logins carry no first touch
    ]
    anonymous = {props["$anon_distinct_id"] for props in signups}
    visited = set(frame.filter(pl.col("event") == "$pageview")["distinct_id"].to_list())
    assert len(anonymous & visited) > 0.8 * len(anonymous)


def test_landing_visits_carry_each_channels_utm_or_referrer(demo: LoadedDemo) -> None:
    landings = demo.frame.filter(
        (pl.col("event") == "$pageview") & pl.col("current_url").str.starts_with(catalog.SITE_URL)
    )
    sources = set(landings["utm_source"].to_list())
    assert {"google", "facebook", "newsletter", "producthunt"} <= sources
    mediums = set(landings["utm_medium"].to_list())
    assert {"cpc", "paid_social", "email", "referral"} <= mediums
    organic = landings.filter((pl.col("utm_source") == "") & (pl.col("referrer") != ""))
    assert "https://www.bing.com/" in set(organic["referrer"].to_list())
    tagged = landings.filter(pl.col("utm_source") != "")
    assert tagged["current_url"].str.contains("utm_source=").all()


def test_churned_people_fade_in_their_last_four_weeks(demo: LoadedDemo) -> None:
    counts = (
        demo.frame.filter(pl.col("event").is_in(PRODUCT_EVENTS))
        .group_by("distinct_id", pl.col("timestamp").dt.date().alias("day"))
        .len()
    )
    late_rates, early_rates = [], []
    for person in demo.business.people:
        churn = person.churn_at
        active_from = max(person.signup_at, demo.start)
        if churn is None or churn - active_from < timedelta(weeks=8):
            continue
        fade_from = churn - timedelta(weeks=4)
        mine = counts.filter(pl.col("distinct_id") == person.distinct_id)
        late = mine.filter(pl.col("day") >= fade_from.date(), pl.col("day") < churn.date())
        early = mine.filter(pl.col("day") < fade_from.date())
        late_rates.append(late["len"].sum() / 28)
        early_rates.append(early["len"].sum() / max((fade_from - active_from).days, 1))
    assert len(late_rates) >= 15
    assert sum(late_rates) / len(late_rates) < 0.6 * sum(early_rates) / len(early_rates)


def test_weekdays_are_busier_than_weekends(demo: LoadedDemo) -> None:
    per_day = (
        demo.frame.filter(pl.col("event").is_in(PRODUCT_EVENTS))
        .group_by(pl.col("timestamp").dt.date().alias("day"))
        .len()
        .with_columns(weekend=pl.col("day").dt.weekday() >= 6)
    )
    weekday = per_day.filter(~pl.col("weekend"))["len"].mean()
    weekend = per_day.filter(pl.col("weekend"))["len"].mean()
    assert isinstance(weekday, float)
    assert isinstance(weekend, float)
    assert weekday > 1.2 * weekend


def test_business_users_work_daytime_hours(demo: LoadedDemo) -> None:
    offsets = {p.distinct_id: p.utc_offset_minutes for p in demo.business.people if not p.personal}
    local_hours = [
        ((moment.hour * 60 + moment.minute + offsets[did]) // 60) % 24
        for did, moment in demo.frame.filter(pl.col("distinct_id").is_in(list(offsets)))
        .select("distinct_id", "timestamp")
        .iter_rows()
    ]
    night = sum(1 for hour in local_hours if hour < 6)
    office = sum(1 for hour in local_hours if 8 <= hour < 18)
    assert office > 10 * night


def test_features_are_adopted_at_different_rates(demo: LoadedDemo) -> None:
    users = demo.frame.filter(pl.col("distinct_id").str.starts_with("usr_"))
    active = users["distinct_id"].n_unique()
    adopters = (
        users.filter(pl.col("feature") != "")
        .group_by("feature")
        .agg(pl.col("distinct_id").n_unique().alias("people"))
    )
    share = {row["feature"]: row["people"] / active for row in adopters.iter_rows(named=True)}
    assert set(share) == {f.name for f in catalog.FEATURES}
    assert share["recipe_editor"] > 0.7
    assert share["team_sharing"] < 0.2
    assert share["menu_export"] < share["recipe_scaling"] < share["recipe_import"]
    assert max(share.values()) > 5 * min(share.values())


def test_plan_gated_features_are_used_only_on_plans_that_include_them(demo: LoadedDemo) -> None:
    usage = demo.frame.filter(pl.col("feature") != "")
    plans = {
        (feature, props["plan"])
        for feature, props in zip(usage["feature"].to_list(), _properties(usage), strict=True)
    }
    for feature in catalog.FEATURES:
        used_on = {plan for name, plan in plans if name == feature.name}
        included = {p for p, chance in zip(catalog.PLANS, feature.adoption, strict=True) if chance}
        assert used_on <= included, feature.name


def test_plan_changes_carry_the_mrr_they_move(demo: LoadedDemo) -> None:
    changes = _properties(demo.frame.filter(pl.col("event") == "plan_changed"))
    cancels = _properties(demo.frame.filter(pl.col("event") == "subscription_cancelled"))
    assert {c["direction"] for c in changes} == {"upgrade", "downgrade"}
    for change in changes:
        moved = catalog.PRICES[str(change["to_plan"])] - catalog.PRICES[str(change["from_plan"])]
        assert change["mrr_change"] == moved
        assert change["$set"] == {"plan": change["to_plan"], "subscription_status": "active"}
    assert cancels
    assert all(c["plan"] in ("pro", "team") and c["mrr_change"] < 0 for c in cancels)


def test_sign_ups_grow_over_the_period(demo: LoadedDemo) -> None:
    signups = demo.frame.filter(pl.col("event") == "signed_up")["timestamp"].to_list()
    third = timedelta(days=40)
    first = sum(1 for t in signups if t < demo.start + third)
    last = sum(1 for t in signups if t >= demo.start + 2 * third)
    assert last > 1.5 * first


def test_onboarding_is_a_funnel_that_loses_people(demo: LoadedDemo) -> None:
    steps = _properties(demo.frame.filter(pl.col("event") == "onboarding_step_completed"))
    per_step = [sum(1 for s in steps if s["step_number"] == n) for n in range(1, 5)]
    assert per_step == sorted(per_step, reverse=True)
    assert per_step[-1] < 0.6 * per_step[0]
