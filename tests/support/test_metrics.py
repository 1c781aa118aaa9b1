"""Support metrics and the top-issues report on hand-built tickets whose figures are
worked out in the comments, on SQLite and PostgreSQL."""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.orm import Session, sessionmaker

from loopwise.core import accounts
from loopwise.core.db import make_engine, migrate, session_factory
from loopwise.core.errors import InvalidInput
from loopwise.support.metrics import (
    Durations,
    Ratio,
    Sla,
    Suggestions,
    durations,
    quantile,
    support_metrics,
)
from loopwise.support.models import SupportAction, Ticket, TicketChange, TicketMessage
from loopwise.support.report import (
    render_top_issues_text,
    top_issues,
    trend,
    volume_by_category,
)
from tests.factories import TEST_ACTOR

P, OTHER = 1, 2  # the projects every test creates first in its fresh database
T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)  # a Monday morning in March
START, END = datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC)
SOLVED = ("solved", "closed")
NUMBERS = itertools.count(1)


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


@pytest.fixture
def sessions(database_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(database_url)
    migrate(engine)
    factory = session_factory(engine)
    with factory.begin() as session:
        assert accounts.create_project(session, TEST_ACTOR, "Support").id == P
        assert accounts.create_project(session, TEST_ACTOR, "Other").id == OTHER
    yield factory
    engine.dispose()


def add_ticket(
    session: Session,
    created: datetime,
    *,
    statuses: Iterable[tuple[datetime, str]] = (),
    replies: Iterable[datetime] = (),
    project_id: int = P,
    **fields: Any,
) -> Ticket:
    """A ticket created at ``created`` and moved through ``statuses``, with agents' public
    replies at ``replies``; its columns follow that history as the ticket service keeps
    them (``solved_at`` is set by a move to solved, cleared by a move out of solved/closed;
    a move from solved/closed to new/open is a reopen)."""
    fields.setdefault("subject", "Help")
    fields.setdefault("number", next(NUMBERS))
    ticket = Ticket(project_id=project_id, source="api",
                    created_at=created, updated_at=created, **fields)  # fmt: skip
    session.add(ticket)
    session.flush()
    history, status, solved_at, reopens = [("", "new", created)], "new", None, 0
    for when, new in statuses:
        history.append((status, new, when))
        reopens += status in SOLVED and new in ("new", "open")
        if new == "solved" and status != "solved":
            solved_at = when
        elif new not in SOLVED:
            solved_at = None
        status = new
    session.add_all(
        TicketChange(ticket_id=ticket.id, project_id=project_id, field="status", old=old,
                     new=new, at=when)
        for old, new, when in history
    )  # fmt: skip
    answers = sorted(replies)
    session.add_all(
        TicketMessage(ticket_id=ticket.id, project_id=project_id, author_kind="agent",
                      author="agent@example.com", body="Hello", public=True, created_at=when)
        for when in answers
    )  # fmt: skip
    ticket.status, ticket.solved_at, ticket.reopens = status, solved_at, reopens
    ticket.first_response_at = answers[0] if answers else None
    return ticket


def act(session: Session, ticket: Ticket, kind: str, *outcomes: str) -> None:
    session.add_all(
        SupportAction(project_id=P, ticket_id=ticket.id, kind=kind, outcome=o, at=at(1))
        for o in outcomes
    )


# --- response, resolution and wait times --------------------------------------------------


@pytest.fixture
def timed(sessions: sessionmaker[Session]) -> sessionmaker[Session]:
    """Three March tickets with known reply and status times, and two that do not count."""
    with sessions.begin() as session:
        # A: replied after 1 h and left pending; the customer answers a day later (open at
        # 25 h) and it is solved at 26 h. Waiting: new 0-1 h + open 25-26 h = 2 h; the 24 h
        # in pending are the requester's turn. Resolution 26 h.
        add_ticket(
            session,
            at(0),
            replies=[at(1)],
            statuses=[(at(1), "pending"), (at(25), "open"), (at(26), "solved")],
        )
        # B: created at 2 h, answered at 4 h (2 h) and kept open, solved at 10 h: 8 h
        # to solve, all of it waiting.
        add_ticket(session, at(2), replies=[at(4)], statuses=[(at(4), "open"), (at(10), "solved")])
        # C: created at 3 h, answered at 7 h (4 h), pending since: not solved.
        add_ticket(session, at(3), replies=[at(7)], statuses=[(at(7), "pending")])
        # Not counted: created in February, and another project's ticket.
        add_ticket(
            session,
            START - timedelta(hours=2),
            replies=[START + timedelta(days=2)],
            statuses=[(START + timedelta(days=2), "solved")],
        )
        add_ticket(session, at(0), replies=[at(9)], statuses=[(at(9), "solved")],
                   project_id=OTHER)  # fmt: skip
    return sessions


def test_first_response_time_median_p90_and_mean_are_exact(
    timed: sessionmaker[Session],
) -> None:
    with timed() as session:
        found = support_metrics(session, P, START, END, now=at(48)).overall
    assert found.tickets == 3
    # 3,600, 7,200 and 14,400 s. Median 7,200; p90 at rank (3 - 1) x 0.9 = 1.8:
    # 7,200 + 0.8 x 7,200 = 12,960; mean 25,200 / 3 = 8,400.
    assert found.first_response == Durations(3, 7200.0, 12960.0, 8400.0)


def test_resolution_time_runs_from_creation_to_the_solve(timed: sessionmaker[Session]) -> None:
    with timed() as session:
        found = support_metrics(session, P, START, END, now=at(48)).overall
    # A 26 h = 93,600 s and B 8 h = 28,800 s; C is not solved. p90 at rank 0.9:
    # 28,800 + 0.9 x 64,800 = 87,120.
    assert found.resolution == Durations(2, 61200.0, 87120.0, 61200.0)


def test_requester_wait_time_leaves_out_pending(timed: sessionmaker[Session]) -> None:
    with timed() as session:
        found = support_metrics(session, P, START, END, now=at(48)).overall
    # A waited 2 h (7,200 s, not its 24 h in pending), B 8 h (28,800 s).
    # p90: 7,200 + 0.9 x 21,600 = 26,640.
    assert found.requester_wait == Durations(2, 18000.0, 26640.0, 18000.0)


def test_a_reopened_ticket_counts_its_latest_solve_and_in_the_reopen_rate(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as session:
        # D: solved at 1 h, reopened at 30 h, solved again at 32 h: resolution 32 h
        # (115,200 s); waited new 0-1 h + open 30-32 h = 3 h (10,800 s).
        add_ticket(
            session,
            at(0),
            replies=[at(1)],
            statuses=[(at(1), "solved"), (at(30), "open"), (at(32), "solved")],
        )
        # E: answered and solved at 2 h (7,200 s, all waiting).
        add_ticket(session, at(0), replies=[at(2)], statuses=[(at(2), "solved")])
        # F: solved, then reopened and still open: not solved, so in no figure below.
        add_ticket(session, at(0), replies=[at(1)], statuses=[(at(1), "solved"), (at(5), "open")])
        # G: closed straight from open at 4 h, never "solved" (no solved_at): its history
        # gives the solve: 14,400 s, all waiting.
        add_ticket(session, at(0), statuses=[(at(3), "open"), (at(4), "closed")])
    with sessions() as session:
        found = support_metrics(session, P, START, END, now=at(48)).overall
    # Resolution 7,200, 14,400, 115,200: p90 at rank 1.8 = 14,400 + 0.8 x 100,800.
    assert found.resolution == Durations(3, 14400.0, 95040.0, 45600.0)
    # Waits 7,200, 10,800, 14,400: p90 = 10,800 + 0.8 x 3,600 = 13,680.
    assert found.requester_wait == Durations(3, 10800.0, 13680.0, 10800.0)
    # D, E and G are solved; only D came back.
    assert found.reopened == Ratio(1, 3)


# --- SLA, CSAT and the copilot ------------------------------------------------------------


def test_sla_breaches_count_late_answers_and_unanswered_tickets_past_due(
    sessions: sessionmaker[Session],
) -> None:
    due: dict[str, Any] = {"first_response_due": at(1), "resolution_due": at(8)}
    with sessions.begin() as session:
        # S1: answered at 30 min, solved at 4 h: both targets met.
        add_ticket(
            session,
            at(0),
            replies=[at(0.5)],
            statuses=[(at(0.5), "pending"), (at(4), "solved")],
            **due,
        )
        # S2: answered at 2 h (an hour late), unsolved and past its 8 h target: two breaches.
        add_ticket(session, at(0), replies=[at(2)], statuses=[(at(2), "pending")], **due)
        # S3: never answered, due at 1 h: breached at ``now``; resolution due later: running.
        add_ticket(session, at(0), first_response_due=at(1), resolution_due=at(100))
        # S4: no SLA for its priority: in neither count.
        add_ticket(session, at(0))
        # S5: created just before ``now``, first response due later: running.
        add_ticket(session, at(47), first_response_due=at(60))
        # S6: solved at 30 min without a reply: the first-response clock stops at the solve.
        add_ticket(session, at(0), statuses=[(at(0.5), "solved")], **due)
        # S7: answered exactly at 1 h and solved exactly at 8 h: on time is met.
        add_ticket(session, at(0), replies=[at(1)], statuses=[(at(8), "solved")], **due)
    with sessions() as session:
        found = support_metrics(session, P, START, END, now=at(48)).overall
    # First response: met S1, S6, S7; breached S2, S3; running S5: 3 of 5 decided.
    assert found.first_response_sla == Sla(met=3, breached=2, running=1)
    assert found.first_response_sla.achieved == 0.6
    # Resolution: met S1, S6, S7; breached S2; running S3: 3 of 4 decided.
    assert found.resolution_sla == Sla(met=3, breached=1, running=1)
    assert found.resolution_sla.achieved == 0.75


def test_csat_is_the_share_of_ratings_of_four_or_five(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        for rating in (5, 4, 3, 1, None, 5):
            add_ticket(session, at(0), csat_rating=rating)
    with sessions() as session:
        csat = support_metrics(session, P, START, END, now=at(48)).overall.csat
    assert csat == Ratio(3, 5)  # 5, 4 and 5 of five ratings; the unrated ticket is not one
    assert csat.rate == 0.6


def test_auto_resolution_and_suggestion_rates(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        kept = add_ticket(session, at(0), auto_resolved=True, statuses=[(at(0), "solved")])
        act(session, kept, "auto_resolution", "resolved")
        # The customer answered: the entry became a miss.
        missed = add_ticket(session, at(0), auto_resolved=True,
                            statuses=[(at(0), "solved"), (at(2), "open")])  # fmt: skip
        act(session, missed, "auto_resolution", "reopened")
        act(session, add_ticket(session, at(0)), "suggestion", "accepted", "accepted", "edited")
        act(session, add_ticket(session, at(0)), "suggestion", "accepted", "rejected")
    with sessions() as session:
        found = support_metrics(session, P, START, END, now=at(48)).overall
    assert found.auto_resolved == Ratio(2, 4)  # two of four tickets created
    assert found.auto_resolution_reopened == Ratio(1, 2)
    assert found.suggestions == Suggestions(accepted=3, edited=1, rejected=1)
    assert (found.suggestions.acceptance_rate, found.suggestions.edited_share) == (0.6, 0.2)


# --- backlog and the breakdowns -----------------------------------------------------------


def test_backlog_counts_unsolved_tickets_by_status_and_age(
    sessions: sessionmaker[Session],
) -> None:
    now = datetime(2026, 3, 20, 12, tzinfo=UTC)

    def ago(days: float) -> datetime:
        return now - timedelta(days=days)

    with sessions.begin() as session:
        add_ticket(session, ago(0.1))  # new, <1d
        add_ticket(session, ago(1), statuses=[(ago(0.5), "open")])  # exactly 1 day: 1-3d
        add_ticket(session, ago(2.5), statuses=[(ago(2), "pending")])  # 1-3d
        add_ticket(session, ago(5), statuses=[(ago(4), "open")])  # 3-7d
        add_ticket(session, ago(10), statuses=[(ago(9), "pending")])  # >7d, from February
        add_ticket(session, ago(7))  # new, exactly 7 days: >7d
        add_ticket(session, ago(4), statuses=[(ago(3), "solved")])  # solved: not backlog
        add_ticket(session, now + timedelta(hours=1))  # after ``now``
        add_ticket(session, ago(1), project_id=OTHER)
    with sessions() as session:
        backlog = support_metrics(session, P, START, END, now=now).overall.backlog
    assert backlog.counts == {
        "new": {"<1d": 1, "1-3d": 0, "3-7d": 0, ">7d": 1},
        "open": {"<1d": 0, "1-3d": 1, "3-7d": 1, ">7d": 0},
        "pending": {"<1d": 0, "1-3d": 1, "3-7d": 0, ">7d": 1},
    }
    assert backlog.by_status == {"new": 2, "open": 2, "pending": 2}
    assert backlog.by_age == {"<1d": 1, "1-3d": 2, "3-7d": 1, ">7d": 2}
    assert backlog.total == 6


def test_figures_per_agent_and_per_team(sessions: sessionmaker[Session]) -> None:
    ann: dict[str, Any] = {"assignee": "ann@example.com", "queue": "billing"}
    bob: dict[str, Any] = {"assignee": "bob@example.com", "queue": "tech"}
    with sessions.begin() as session:
        add_ticket(session, at(0), replies=[at(1)], statuses=[(at(2), "solved")],
                   csat_rating=5, **ann)  # fmt: skip
        add_ticket(session, at(0), replies=[at(3)], statuses=[(at(3), "pending")], **ann)
        add_ticket(session, at(0), replies=[at(2)], statuses=[(at(6), "solved")],
                   csat_rating=2, **bob)  # fmt: skip
        add_ticket(session, at(0))  # unassigned, no team, still new
    with sessions() as session:
        found = support_metrics(session, P, START, END, now=at(48))
    assert list(found.agents) == ["", "ann@example.com", "bob@example.com"]
    first = found.agents["ann@example.com"]
    # Ann answered in 3,600 and 10,800 s: median 7,200, p90 3,600 + 0.9 x 7,200 = 10,080.
    assert first.first_response == Durations(2, 7200.0, 10080.0, 7200.0)
    assert (first.csat, first.backlog.by_status["pending"]) == (Ratio(1, 1), 1)
    assert found.agents["bob@example.com"].resolution == Durations(1, 21600.0, 21600.0, 21600.0)
    assert found.agents[""].backlog.by_status["new"] == 1
    assert {name: f.tickets for name, f in found.teams.items()} == {"": 1, "billing": 2, "tech": 1}
    assert found.teams["billing"].backlog.total == 1
    assert found.overall.csat == Ratio(1, 2)


def test_a_range_that_ends_before_it_starts_is_refused(sessions: sessionmaker[Session]) -> None:
    with sessions() as session, pytest.raises(InvalidInput):
        support_metrics(session, P, END, START, now=at(48))
    with sessions() as session, pytest.raises(InvalidInput):
        support_metrics(session, P, START, END, now=datetime(2026, 3, 5))


@given(st.lists(st.floats(0, 1e7, allow_nan=False), min_size=2, max_size=40))
def test_percentiles_match_the_standard_librarys_inclusive_method(values: list[float]) -> None:
    # Python's statistics.quantiles(method="inclusive") is R-7 too: an independent oracle.
    deciles = statistics.quantiles(values, n=10, method="inclusive")
    assert quantile(sorted(values), 0.9) == pytest.approx(deciles[8], rel=1e-9, abs=1e-6)
    assert durations(values).median == pytest.approx(statistics.median(values), abs=1e-6)


# --- volume by category and trends --------------------------------------------------------


def add_many(session: Session, category: str, week: date, count: int, **fields: Any) -> None:
    """``count`` tickets of ``category`` on the Wednesday noon of ``week``'s Monday."""
    moment = datetime.combine(week, datetime.min.time(), UTC) + timedelta(days=2, hours=12)
    for _ in range(count):
        add_ticket(session, moment, category=category, **fields)


def test_a_category_rising_well_above_its_usual_level_is_trending(
    sessions: sessionmaker[Session],
) -> None:
    now = datetime(2026, 3, 25, 12, tzinfo=UTC)  # a Wednesday: last complete week is 16 March
    mondays = [date(2026, 2, 9) + timedelta(weeks=k) for k in range(6)]  # 9 Feb ... 16 Mar
    with sessions.begin() as session:
        add_many(session, "billing", mondays[0], 1)  # shown, but before the 4-week baseline
        for week in mondays[1:5]:
            add_many(session, "billing", week, 2)
            add_many(session, "feature_request", week, 4)
        for week in mondays[1:4]:
            add_many(session, "bug", week, 10)
        add_many(session, "bug", mondays[4], 9)
        # The last second of Sunday 15 March belongs to the week of 9 March ...
        add_ticket(session, datetime(2026, 3, 15, 23, 59, 59, tzinfo=UTC), category="bug")
        # ... and Monday 16 March 00:00 to the last complete week.
        add_ticket(session, datetime(2026, 3, 16, tzinfo=UTC), category="billing")
        add_many(session, "billing", mondays[5], 7)
        add_many(session, "bug", mondays[5], 15)
        add_many(session, "feature_request", mondays[5], 10)
        add_many(session, "how_to", mondays[5], 4)
        add_many(session, "billing", date(2026, 3, 23), 20)  # this week: not complete
        add_many(session, "billing", mondays[5], 30, project_id=OTHER)
    with sessions() as session:
        found = volume_by_category(session, P, 6, now)
    assert found.weeks == tuple(mondays)
    rows = [(c.category, c.counts, c.baseline, c.trending) for c in found.categories]
    assert rows == [
        # m = 10, x = 15: (15 - 10) / sqrt(10) = 1.58, not three deviations.
        ("bug", (0, 10, 10, 10, 10, 15), 10.0, False),
        # m = 4, x = 10: (10 - 4) / 2 = 3.0 exactly: trending.
        ("feature_request", (0, 4, 4, 4, 4, 10), 4.0, True),
        # m = 2, x = 8: 6 / sqrt(2) = 4.24: trending.
        ("billing", (1, 2, 2, 2, 2, 8), 2.0, True),
        # m = 0, x = 4: scores 4 / sqrt(1) = 4, but fewer than five tickets.
        ("how_to", (0, 0, 0, 0, 0, 4), 0.0, False),
    ]
    assert found.categories[2].score == pytest.approx(6 / 2**0.5)
    assert found.trending == ("feature_request", "billing")


@pytest.mark.parametrize(
    ("counts", "flagged"),
    [
        ((0, 0, 0, 0, 5), True),  # five tickets from nothing: (5 - 0) / 1 = 5
        ((0, 0, 0, 0, 4), False),  # scores 4 but under five tickets
        ((4, 4, 4, 4, 10), True),  # (10 - 4) / 2 = 3: on the line
        ((4, 4, 4, 4, 9), False),  # 2.5
        ((1, 1, 0, 0, 5), True),  # m = 0.5 floored to 1: (5 - 0.5) / 1 = 4.5
    ],
)
def test_the_trending_rule_at_its_edges(counts: tuple[int, ...], flagged: bool) -> None:
    assert trend(counts)[2] is flagged


# --- the monthly top-issues report --------------------------------------------------------


def add_issue(
    session: Session,
    day: datetime,
    category: str = "",
    feature: str = "",
    *,
    mrr: int | None = None,
    currency: str = "usd",
    **fields: Any,
) -> Ticket:
    analysis = {} if mrr is None else {"mrr_minor": mrr, "currency": currency}
    return add_ticket(session, day, category=category, feature=feature, analysis=analysis,
                      **fields)  # fmt: skip


def march(day: int, hour: int = 12) -> datetime:
    return datetime(2026, 3, day, hour, tzinfo=UTC)


@pytest.fixture
def issues(sessions: sessionmaker[Session]) -> sessionmaker[Session]:
    """Six March issues with 7, 5, 4, 3, 2 and 1 tickets, and two of them in February."""
    with sessions.begin() as session:
        # billing / invoices, 7 tickets from two people. p1's latest MRR in March is 1,000
        # (5 March; later tickets carry none), p2's 500: 1,500 affected.
        for day, who, mrr in ((2, "p1", 900), (3, "p2", 500), (5, "p1", 1000), (9, "p1", None),
                              (12, "p1", None), (20, "p2", 500), (25, "p2", None)):  # fmt: skip
            add_issue(session, march(day), "billing", "invoices", mrr=mrr, person_id=who,
                      subject=f"Invoice {day} March")  # fmt: skip
        for day in range(1, 6):  # bug / export: 5 tickets from one person without MRR
            add_issue(session, march(day), "bug", "export", person_id="p3")
        # The known issue groups tickets across categories: 4 people at 3,000 each.
        for n, (category, feature) in enumerate([("account_access", "login")] * 2
                                                + [("bug", "login")] * 2):  # fmt: skip
            add_issue(session, march(10 + n), category, feature, mrr=3000,
                      person_id=f"p{4 + n}", known_issue="Login outage")  # fmt: skip
        for day in (6, 7, 8):  # how_to / reports: three requesters nobody can tell apart
            add_issue(session, march(day), "how_to", "reports")
        # feature_request / api: one requester by e-mail (any case); latest MRR 25,000.
        add_issue(session, march(10), "feature_request", "api", mrr=20000,
                  requester_email="Dev@Corp.io")  # fmt: skip
        add_issue(session, march(15), "feature_request", "api", mrr=25000,
                  requester_email="dev@corp.io")  # fmt: skip
        # cancellation: one ticket, the biggest customer, in the last hour of March.
        add_issue(session, march(31, 23), "cancellation", mrr=50000, person_id="p8")
        # February: billing / invoices 5 (p1 at 9,999), bug / export 6. April: not counted.
        for day in range(1, 6):
            add_issue(session, datetime(2026, 2, day, tzinfo=UTC), "billing", "invoices",
                      mrr=9999, person_id="p1")  # fmt: skip
        for day in range(10, 16):
            add_issue(session, datetime(2026, 2, day, tzinfo=UTC), "bug", "export")
        add_issue(session, datetime(2026, 4, 1, tzinfo=UTC), "billing", "invoices")
        add_issue(session, march(3), "billing", "invoices", project_id=OTHER)
    return sessions


def test_top_issues_rank_by_volume_and_separately_by_mrr(issues: sessionmaker[Session]) -> None:
    with issues() as session:
        found = top_issues(session, P, date(2026, 3, 17))
    assert (found.month, found.currency, found.tickets, found.issues) == (
        date(2026, 3, 1), "usd", 22, 6,
    )  # fmt: skip
    volume = [(i.label, i.tickets, i.requesters, i.mrr_minor) for i in found.by_volume]
    assert volume == [
        ("billing / invoices", 7, 2, 1500),
        ("bug / export", 5, 1, 0),
        ("Login outage", 4, 4, 12000),
        ("how_to / reports", 3, 3, 0),
        ("feature_request / api", 2, 1, 25000),
    ]  # cancellation, with 1 ticket, is sixth
    # Issues without known MRR are not ranked by it.
    assert [(i.label, i.mrr_minor) for i in found.by_mrr] == [
        ("cancellation", 50000),
        ("feature_request / api", 25000),
        ("Login outage", 12000),
        ("billing / invoices", 1500),
    ]
    assert found.other_currencies == ()


def test_top_issues_compare_with_the_month_before_and_show_recent_examples(
    issues: sessionmaker[Session],
) -> None:
    with issues() as session:
        found = top_issues(session, P, date(2026, 3, 1), limit=3)
    billing, bug, login = found.by_volume
    assert (found.previous_tickets, billing.previous_tickets, billing.change) == (11, 5, 2)
    assert billing.previous_mrr_minor == 9999  # p1 in February
    assert bug.change == -1
    assert bug.change_ratio == pytest.approx(-1 / 6)
    assert (login.change, login.change_ratio) == (4, None)  # new this month
    assert [e.subject for e in billing.examples] == [
        "Invoice 25 March", "Invoice 20 March", "Invoice 12 March",
    ]  # fmt: skip


def test_mrr_in_another_currency_is_left_out_and_named(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        add_issue(session, march(2), "billing", mrr=1000, person_id="q1")
        add_issue(session, march(3), "billing", mrr=800, person_id="q2", currency="USD")
        add_issue(session, march(4), "billing", mrr=700, person_id="q3", currency="eur")
        add_issue(session, march(5), "billing", mrr=100, person_id="q4", currency="")
    with sessions() as session:
        found = top_issues(session, P, date(2026, 3, 1))
    # Two requesters in USD make it the report's currency; no currency is taken as USD.
    assert (found.currency, found.by_mrr[0].mrr_minor) == ("usd", 1900)
    assert found.other_currencies == ("eur",)


def test_the_top_issues_email_text(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        add_issue(session, datetime(2026, 2, 10, tzinfo=UTC), "billing", "invoices", number=1)
        for number in (2, 3):
            add_issue(session, march(number), "billing", "invoices", number=number, mrr=12345,
                      person_id="p1", subject=f"Invoice copy {number}")  # fmt: skip
        add_issue(session, march(5), "cancellation", number=4, mrr=50000, person_id="p2",
                  subject="Cancel my plan")  # fmt: skip
    with sessions() as session:
        text = render_top_issues_text(top_issues(session, P, date(2026, 3, 1)))
        empty = render_top_issues_text(top_issues(session, P, date(2026, 6, 1)))
    billing = (
        "billing / invoices: 2 tickets (+1), 1 requester, MRR affected USD 123.45\n"
        "   #3 Invoice copy 3\n"
        "   #2 Invoice copy 2\n"
    )
    cancellation = (
        "cancellation: 1 ticket (+1), 1 requester, MRR affected USD 500.00\n   #4 Cancel my plan\n"
    )
    assert text == (
        "Top support issues, March 2026\n"
        "3 tickets in 2 issues (+2 tickets vs February 2026).\n"
        "\nBy tickets\n----------\n"
        f"1. {billing}2. {cancellation}"
        "\nBy MRR affected\n---------------\n"
        f"1. {cancellation}2. {billing}"
    )
    assert empty == (
        "Top support issues, June 2026\n"
        "0 tickets in 0 issues (+0 tickets vs May 2026).\n"
        "\nBy tickets\n----------\nNo tickets this month.\n"
        "\nBy MRR affected\n---------------\nNo requester's MRR is known this month.\n"
    )
