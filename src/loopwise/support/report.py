"""What tickets are about: the weekly volume per category with the categories that are
trending, and the monthly top-issues report (by volume and by the revenue of the people
who wrote in), rendered as plain text for the scheduled e-mail.

Like ``metrics.py``, rows come from selects scoped to the project and are counted in
Python. Definitions in docs/metrics/support.md.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from loopwise.core.currency import exponent
from loopwise.core.errors import InvalidInput
from loopwise.support.metrics import check_utc, created_in
from loopwise.support.models import Ticket

WEEK = timedelta(days=7)
# Trending: last complete week's count x against the mean m of the TREND_WEEKS before it.
TREND_WEEKS, TREND_MIN_TICKETS, TREND_SCORE = 4, 5, 3.0
EXAMPLES = 3


# --- volume by category -------------------------------------------------------------------


@dataclass(frozen=True)
class CategoryTrend:
    category: str  # "" is not yet categorised
    counts: tuple[int, ...]  # one per week of ``CategoryVolume.weeks``
    last_week: int  # x
    baseline: float  # m, the mean of the 4 weeks before the last
    score: float  # (x - m) / sqrt(max(m, 1))
    trending: bool


@dataclass(frozen=True)
class CategoryVolume:
    weeks: tuple[date, ...]  # Mondays of the complete ISO weeks shown, oldest first
    categories: tuple[CategoryTrend, ...]  # most tickets last week first

    @property
    def trending(self) -> tuple[str, ...]:
        return tuple(c.category for c in self.categories if c.trending)


def week_start(moment: datetime) -> datetime:
    """Monday 00:00 UTC of the ISO week holding ``moment``."""
    day = moment.astimezone(UTC).date()
    return datetime.combine(day - timedelta(days=day.weekday()), datetime.min.time(), UTC)


def trend(counts: Sequence[int]) -> tuple[float, float, bool]:
    """(m, score, flagged) for weekly counts whose last is the week judged.

    The last complete week's count x is compared with the mean m of the 4 weeks before
    it (weeks without tickets count 0). A category is trending when

        x >= 5  and  (x - m) / sqrt(max(m, 1)) >= 3

    that is, three Poisson standard deviations above its usual level, and at least five
    tickets, so that a quiet category going from 0 to 3 is not news. The floor of 1 under
    m keeps a category that was silent from scoring without bound.
    """
    last = counts[-1]
    before = counts[-1 - TREND_WEEKS : -1]
    baseline = sum(before) / TREND_WEEKS
    score = (last - baseline) / math.sqrt(max(baseline, 1.0))
    return baseline, score, last >= TREND_MIN_TICKETS and score >= TREND_SCORE


def volume_by_category(
    session: Session, project_id: int, weeks: int, now: datetime
) -> CategoryVolume:
    """Tickets created per category in each of the last ``weeks`` complete ISO weeks
    (Monday to Sunday, UTC) before ``now``, with the trending categories flagged (the
    rule is in ``trend``). The week holding ``now`` is not complete and not shown."""
    check_utc(now=now)
    if weeks < 1:
        raise InvalidInput("weeks", "ask for at least one week")
    last = week_start(now) - WEEK
    span = max(weeks, TREND_WEEKS + 1)
    first = last - (span - 1) * WEEK
    rows = session.execute(
        select(Ticket.category, Ticket.created_at).where(
            *created_in(project_id, first, last + WEEK)
        )
    )
    counts: dict[str, list[int]] = defaultdict(lambda: [0] * span)
    for category, created in rows:
        counts[category][(created - first) // WEEK] += 1
    found = []
    for category, series in counts.items():
        baseline, score, flagged = trend(series)
        found.append(CategoryTrend(category, tuple(series[-weeks:]), series[-1],
                                   baseline, round(score, 6), flagged))  # fmt: skip
    found.sort(key=lambda c: (-c.last_week, -sum(c.counts), c.category))
    shown = tuple((last - k * WEEK).date() for k in reversed(range(weeks)))
    return CategoryVolume(shown, tuple(found))


# --- monthly top issues -------------------------------------------------------------------


@dataclass(frozen=True)
class Example:
    id: int
    number: int
    subject: str


@dataclass(frozen=True)
class Issue:
    """A known issue (when tickets name one), else a (category, feature) pair."""

    known_issue: str
    category: str  # "" for a known issue
    feature: str  # "" for a known issue or a category without a feature
    tickets: int  # created in the month
    mrr_minor: int  # of the distinct requesters, in the report's currency
    requesters: int
    previous_tickets: int  # created in the month before
    previous_mrr_minor: int
    examples: tuple[Example, ...]  # most recent first

    @property
    def label(self) -> str:
        if self.known_issue:
            return self.known_issue
        category = self.category or "(uncategorised)"
        return f"{category} / {self.feature}" if self.feature else category

    @property
    def change(self) -> int:
        return self.tickets - self.previous_tickets

    @property
    def change_ratio(self) -> float | None:
        """Relative change in tickets; None when the issue is new this month."""
        return self.change / self.previous_tickets if self.previous_tickets else None


@dataclass(frozen=True)
class TopIssues:
    month: date  # its first day
    currency: str  # of every MRR figure; "" when no ticket names one
    tickets: int
    previous_tickets: int
    issues: int  # distinct issues in the month
    by_volume: tuple[Issue, ...]
    by_mrr: tuple[Issue, ...]  # issues with some MRR affected only
    other_currencies: tuple[str, ...]  # requesters' MRR in these was left out


IssueKey = tuple[str, str, str]  # (known_issue, category, feature)


@dataclass(frozen=True)
class _Row:
    id: int
    number: int
    subject: str
    key: IssueKey
    requester: str
    created_at: datetime
    mrr: int | None
    currency: str


@dataclass
class _Tally:
    rows: list[_Row]
    requesters: set[str]


def _mrr(value: Any) -> int | None:
    """``analysis["mrr_minor"]`` when it is a whole, non-negative number."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float) and not value.is_integer():
        return None
    return int(value) if value >= 0 else None


def _requester(person_id: str, email: str, ticket_id: int) -> str:
    """The person, else the e-mail address; a ticket with neither is its own requester."""
    if person_id:
        return f"person:{person_id}"
    address = email.strip().lower()
    return f"email:{address}" if address else f"ticket:{ticket_id}"


def _load(session: Session, project_id: int, start: date, end: date) -> list[_Row]:
    since = datetime.combine(start, datetime.min.time(), UTC)
    until = datetime.combine(end, datetime.min.time(), UTC)
    rows = session.execute(
        select(Ticket.id, Ticket.number, Ticket.subject, Ticket.known_issue, Ticket.category,
               Ticket.feature, Ticket.person_id, Ticket.requester_email, Ticket.created_at,
               Ticket.analysis["mrr_minor"], Ticket.analysis["currency"])
        .where(*created_in(project_id, since, until))
        .order_by(Ticket.created_at, Ticket.id)
    )  # fmt: skip
    found = []
    for id_, number, subject, known, category, feature, person, email, created, mrr, cur in rows:
        key = (known, "", "") if known else ("", category, feature)
        currency = cur.strip().lower() if isinstance(cur, str) else ""
        found.append(_Row(id_, number, subject, key, _requester(person, email, id_), created,
                          _mrr(mrr), currency))  # fmt: skip
    return found


def _latest_mrr(rows: Iterable[_Row]) -> dict[str, tuple[int, str]]:
    """Each requester's MRR and currency on their latest ticket in the month that has one
    (rows come oldest first)."""
    return {r.requester: (r.mrr, r.currency) for r in rows if r.mrr is not None}


def _main_currency(*latest: dict[str, tuple[int, str]]) -> str:
    """The currency most requesters' MRR is in (ties: alphabetical); this month's first."""
    for values in latest:
        counted = Counter(c for _, c in values.values() if c)
        if counted:
            return min(counted, key=lambda c: (-counted[c], c))
    return ""


def _tally(rows: Iterable[_Row]) -> dict[IssueKey, _Tally]:
    found: dict[IssueKey, _Tally] = {}
    for row in rows:
        tally = found.setdefault(row.key, _Tally([], set()))
        tally.rows.append(row)
        tally.requesters.add(row.requester)
    return found


def _affected(tally: _Tally | None, latest: dict[str, tuple[int, str]], currency: str) -> int:
    """The MRR of an issue's requesters; MRR without a currency is taken as the main one."""
    if tally is None:
        return 0
    values = (latest.get(r) for r in tally.requesters)
    return sum(v[0] for v in values if v is not None and v[1] in (currency, ""))


def _month_bounds(month: date) -> tuple[date, date, date]:
    """(first day of the month before, first day of the month, first day of the next)."""
    first = month.replace(day=1)
    before = (first - timedelta(days=1)).replace(day=1)
    after = (first + timedelta(days=32)).replace(day=1)
    return before, first, after


def top_issues(session: Session, project_id: int, month: date, limit: int = 5) -> TopIssues:
    """The month's ``limit`` biggest issues by tickets created and, separately, by the
    MRR of the distinct requesters who raised them, with the change against the month
    before and the most recent example tickets."""
    if limit < 1:
        raise InvalidInput("limit", "ask for at least one issue")
    before, first, after = _month_bounds(month)
    rows = _load(session, project_id, before, after)
    earlier = [r for r in rows if r.created_at.date() < first]
    current = [r for r in rows if r.created_at.date() >= first]
    latest, previous_latest = _latest_mrr(current), _latest_mrr(earlier)
    currency = _main_currency(latest, previous_latest)
    this, last = _tally(current), _tally(earlier)
    issues = [
        Issue(*key, tickets=len(tally.rows),
              mrr_minor=_affected(tally, latest, currency), requesters=len(tally.requesters),
              previous_tickets=len(last[key].rows) if key in last else 0,
              previous_mrr_minor=_affected(last.get(key), previous_latest, currency),
              examples=tuple(Example(r.id, r.number, r.subject)
                             for r in reversed(tally.rows[-EXAMPLES:])))
        for key, tally in this.items()
    ]  # fmt: skip
    others = {c for v in (latest, previous_latest) for _, c in v.values() if c != currency}
    return TopIssues(
        month=first, currency=currency, tickets=len(current), previous_tickets=len(earlier),
        issues=len(issues),
        by_volume=tuple(sorted(issues, key=lambda i: (-i.tickets, -i.mrr_minor, i.label))[:limit]),
        by_mrr=tuple(sorted((i for i in issues if i.mrr_minor),
                            key=lambda i: (-i.mrr_minor, -i.tickets, i.label))[:limit]),
        other_currencies=tuple(sorted(others - {""})),
    )  # fmt: skip


# --- plain text ---------------------------------------------------------------------------


def money(minor: int, currency: str) -> str:
    """``USD 1,234.50`` from 123450 minor units (no code when the currency is unknown)."""
    places = exponent(currency) if currency else 2
    amount = f"{Decimal(minor).scaleb(-places):,.{places}f}"
    return f"{currency.upper()} {amount}" if currency else amount


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _issue_lines(rank: int, issue: Issue, currency: str) -> list[str]:
    head = (
        f"{rank}. {issue.label}: {_plural(issue.tickets, 'ticket')} ({issue.change:+d}), "
        f"{_plural(issue.requesters, 'requester')}, MRR affected "
        f"{money(issue.mrr_minor, currency)}"
    )
    return [head] + [f"   #{e.number} {e.subject}" for e in issue.examples]


def _section(title: str, issues: Sequence[Issue], currency: str, empty: str) -> list[str]:
    lines = ["", title, "-" * len(title)]
    for rank, issue in enumerate(issues, start=1):
        lines += _issue_lines(rank, issue, currency)
    return lines if issues else [*lines, empty]


def render_top_issues_text(report: TopIssues) -> str:
    """The report as plain text for the monthly e-mail; changes are against the month
    before, in tickets."""
    previous = (report.month - timedelta(days=1)).strftime("%B %Y")
    change = report.tickets - report.previous_tickets
    lines = [
        f"Top support issues, {report.month:%B %Y}",
        f"{_plural(report.tickets, 'ticket')} in {_plural(report.issues, 'issue')} "
        f"({change:+d} tickets vs {previous}).",
    ]
    lines += _section("By tickets", report.by_volume, report.currency, "No tickets this month.")
    lines += _section("By MRR affected", report.by_mrr, report.currency,
                      "No requester's MRR is known this month.")  # fmt: skip
    if report.other_currencies:
        left_out = ", ".join(c.upper() for c in report.other_currencies)
        lines += ["", f"MRR in {left_out} is not included."]
    return "\n".join(lines) + "\n"
