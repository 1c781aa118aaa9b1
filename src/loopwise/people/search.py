"""One search box over everyone: e-mail, name, user id (any distinct id), billing customer
id and ticket number, by prefix, then by similarity for typos.

What is searched, in the order results are listed:

1. a ticket number (``#123`` or ``123``): the ticket's requester (support's facade);
2. e-mail prefix (``jane@ex``) over ``person_summaries.email`` (stored lower-cased);
3. name prefix (``jane d``) over ``name_key`` (the name lower-cased);
4. a word of the name after the first (``doe`` finds "Jane Doe");
5. distinct-id prefix (the identity service's ``person_distinct_ids``, case-sensitive,
   merged-away persons resolved to the survivor);
6. billing customer id prefix (``cus_…``, revenue's billing objects linked to a person);
7. when those found fewer than ``limit`` people: similar e-mails and names, for typos
   ("jhon@" finds john@…, "smiht" finds Smith).

Why it stays fast at 100,000 persons and more: every prefix lookup is a range scan of an
index (``key >= q AND key < q_next``, where ``q_next`` moves the last character up by one;
the two keys are ordered by code point on both databases: SQLite's binary collation and
collation "C" on PostgreSQL). Name words and similarity need no database: they work on
a per-process copy of the project's (e-mail, name) keys, reloaded only when the
summaries changed (their count and latest refresh time, looked at no more often than
every ``STAMP_SECONDS``). Similarity uses RapidFuzz's optimal-string-alignment distance
(a transposition counts as one edit) against tokens with the query's first or second
letter, so it compares a few thousand short strings, not every person.
"""

from __future__ import annotations

import bisect
import re
import threading
import time
from collections import OrderedDict, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
from rapidfuzz import process
from rapidfuzz.distance import OSA
from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from loopwise.core.errors import InvalidInput
from loopwise.core.textkeys import after_prefix
from loopwise.ingest.facade import distinct_ids_with_prefix
from loopwise.people.contracts import PersonRow
from loopwise.people.models import PersonSummary
from loopwise.revenue.facade import customers_with_prefix
from loopwise.support.facade import ticket_requester

MAX_LIMIT = 50
MAX_QUERY = 200
FUZZY_FROM = 4  # characters a query needs before similar keys are looked for
STAMP_SECONDS = 5.0  # how often a cached project's summaries are checked for changes
CACHED_PROJECTS = 8
_TICKET = re.compile(r"#?(\d{1,9})")


def search(session: Session, project_id: int, q: str, *, limit: int = 10) -> list[PersonRow]:
    """Up to ``limit`` people matching ``q``, each saying what matched (``matched``)."""
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput("limit", f"is 1 to {MAX_LIMIT}")
    text = clean_query(q)
    if not text:
        return []
    found: dict[str, str] = {}
    for person_id, matched in exact_matches(session, project_id, text, limit):
        found.setdefault(person_id, matched)
    rows = _rows(session, project_id, found)
    if len(rows) < limit and len(text) >= FUZZY_FROM:
        for person_id, matched in _KEYS.get(session, project_id).similar(text.lower(), limit):
            found.setdefault(person_id, matched)
        rows = _rows(session, project_id, found)
    return rows[:limit]


def clean_query(q: str) -> str:
    """The text searched for: printable characters, runs of spaces as one, at most
    ``MAX_QUERY`` characters."""
    printable = "".join(ch for ch in q[: 4 * MAX_QUERY] if ch.isprintable() or ch.isspace())
    return " ".join(printable.split())[:MAX_QUERY]


def exact_matches(
    session: Session, project_id: int, text: str, limit: int
) -> list[tuple[str, str]]:
    """(person id, what matched) for every exact and prefix rule, in listing order;
    up to ``limit`` per rule."""
    lowered = text.lower()
    found: list[tuple[str, str]] = []
    ticket = _TICKET.fullmatch(text)
    if ticket:
        person = ticket_requester(session, project_id, int(ticket.group(1)))
        if person:
            found.append((person, f"ticket #{int(ticket.group(1))}"))
    for column, label in ((PersonSummary.email, "email"), (PersonSummary.name_key, "name")):
        query = (
            select(PersonSummary.person_id)
            .where(PersonSummary.project_id == project_id)
            .where(key_prefix(column, lowered))
            .order_by(column)
            .limit(limit)
        )
        found += [(p, label) for p in session.scalars(query)]
    found += [(p, "name") for p in _KEYS.get(session, project_id).name_words(lowered, limit)]
    for _, person in distinct_ids_with_prefix(session, project_id, text, limit=limit):
        found.append((person, "distinct id"))
    for customer, person in customers_with_prefix(session, project_id, text, limit=limit):
        found.append((person, f"customer {customer}"))
    return found


def key_prefix(column: InstrumentedAttribute[str], prefix: str) -> ColumnElement[bool]:
    """``column`` starts with ``prefix``, as an index range (code-point ordered keys)."""
    upper = after_prefix(prefix)
    start = column >= prefix
    return start if upper is None else and_(start, column < upper)


def narrowing(session: Session, project_id: int, q: str) -> ColumnElement[bool] | None:
    """The people list's search text as a condition: the prefix rules of ``search`` (no
    similarity: a list filter is exact). None for an empty text."""
    text = clean_query(q)
    if not text:
        return None
    lowered = text.lower()
    ids = {p for p, _ in exact_matches(session, project_id, text, MAX_LIMIT)}
    tests = [
        key_prefix(PersonSummary.email, lowered),
        key_prefix(PersonSummary.name_key, lowered),
        PersonSummary.name_key.contains(" " + lowered, autoescape=True),
    ]
    if ids:
        tests.append(PersonSummary.person_id.in_(sorted(ids)))
    return or_(*tests)


def person_row(row: PersonSummary, matched: str = "") -> PersonRow:
    """A summary as a row of a list of people; ``matched``: what a search matched."""
    return PersonRow(
        person_id=row.person_id,
        email=row.email,
        name=row.name,
        account=row.account,
        plan=row.plan,
        mrr_minor=row.mrr_minor,
        billing_status=row.billing_status,
        health=row.health,
        band=row.band,
        last_seen=row.last_seen,
        created_at=row.created_at,
        tags=tuple(row.tags or ()),
        vip=bool(row.vip),
        matched=matched,
    )


def _rows(session: Session, project_id: int, found: dict[str, str]) -> list[PersonRow]:
    """The summaries of the people found, in the order found (people without a summary
    yet are left out)."""
    if not found:
        return []
    rows = session.scalars(
        select(PersonSummary)
        .where(PersonSummary.project_id == project_id)
        .where(PersonSummary.person_id.in_(list(found)))
    )
    by_id = {row.person_id: row for row in rows}
    return [person_row(by_id[p], matched) for p, matched in found.items() if p in by_id]


# --- the per-process copy of every project's keys -----------------------------------------


@dataclass
class _Keys:
    """A project's search keys: person ids, the words of names after the first (sorted,
    for prefix lookups) and, for similarity, every e-mail, name and name word with the
    people it belongs to (``~index`` for a name), filed under three keys made of its
    first three letters (see ``_letter_keys``)."""

    stamp: tuple[int, str]
    checked: float
    ids: list[str] = field(default_factory=list)
    words: list[str] = field(default_factory=list)
    word_people: list[int] = field(default_factory=list)
    owners: dict[str, list[int]] = field(default_factory=dict)
    filed: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def build(cls, stamp: tuple[int, str], rows: Iterable[tuple[str, str, str]]) -> _Keys:
        keys = cls(stamp, time.monotonic())
        words: list[tuple[str, int]] = []
        owners: dict[str, list[int]] = {}
        for index, (person_id, email, name) in enumerate(rows):
            keys.ids.append(person_id)
            if email:
                owners.setdefault(email, []).append(index)
            parts = name.split()
            if len(parts) > 1:
                words += [(word, index) for word in parts[1:]]
                parts.append(name)
            for token in dict.fromkeys(parts):
                owners.setdefault(token, []).append(~index)
        words.sort()
        keys.words = [w for w, _ in words]
        keys.word_people = [i for _, i in words]
        keys.owners = owners
        filed: dict[str, list[str]] = defaultdict(list)
        for token in owners:
            if len(token) >= 3:
                filed["A" + token[:2]].append(token)
                filed["B" + token[1:3]].append(token)
                filed["C" + token[0] + token[2]].append(token)
        keys.filed = dict(filed)
        return keys

    def name_words(self, prefix: str, limit: int) -> list[str]:
        """People with a word after the first of their name starting with ``prefix``."""
        found: list[str] = []
        at = bisect.bisect_left(self.words, prefix)
        while at < len(self.words) and self.words[at].startswith(prefix) and len(found) < limit:
            found.append(self.ids[self.word_people[at]])
            at += 1
        return found

    def similar(self, q: str, limit: int) -> list[tuple[str, str]]:
        """People whose e-mail, name or a name word starts with ``q`` give or take one
        typo (two from seven characters on), closest first."""
        budget = 1 if len(q) <= 6 else 2
        filed = (self.filed.get(key, ()) for key in _letter_keys(q))
        candidates = list(set().union(*filed))
        if "@" in q:
            candidates = [t for t in candidates if "@" in t]
        # A start of the same length within budget + 1 is necessary for a start one
        # character shorter or longer within budget; those few are then measured exactly.
        size = len(q)
        starts = [t[:size] for t in candidates]
        rough = process.extract(q, starts, scorer=OSA.distance, score_cutoff=budget + 1,
                                limit=None)  # fmt: skip
        near = [candidates[index] for _, _, index in rough]
        distances = _start_distances(q, near)
        best = {t: d for t, d in zip(near, distances, strict=True) if d <= budget}
        found: dict[str, str] = {}
        for token in sorted(best, key=lambda t: (best[t], len(t), t)):
            for index in self.owners[token]:
                label = "similar e-mail" if index >= 0 else "similar name"
                found.setdefault(self.ids[index if index >= 0 else ~index], label)
            if len(found) >= limit:
                break
        return list(found.items())[:limit]


def _start_distances(q: str, tokens: list[str]) -> list[int]:
    """Each token's distance from ``q``: the fewest edits (a transposition is one) between
    ``q`` and the token's start one character shorter, as long or one character longer."""
    if not tokens:
        return []
    n = len(q)
    rows = [process.cdist([q], [t[:size] for t in tokens], scorer=OSA.distance, dtype=np.int32)[0]
            for size in (n - 1, n, n + 1)]  # fmt: skip
    return [int(d) for d in np.minimum.reduce(rows)]


def _letter_keys(q: str) -> list[str]:
    """Where a token within one typo of ``q`` is filed: a typo in the first three
    letters leaves one of a token's first two letters (A), its second and third (B) or
    its first and third (C) equal to two letters of ``q`` (an edit further on leaves A)."""
    a, b, c = q[0], q[1], q[2]
    return ["A" + a + b, "A" + b + a, "A" + b + c, "A" + a + c, "B" + b + c, "B" + a + b,
            "C" + a + c, "C" + a + b]  # fmt: skip


class _KeyCache:
    """The keys of the last few projects searched, each with the stamp it was read at."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: OrderedDict[tuple[str, int], _Keys] = OrderedDict()

    def get(self, session: Session, project_id: int) -> _Keys:
        place = (str(session.get_bind().engine.url), project_id)
        with self._lock:
            keys = self._entries.get(place)
        if keys is not None and time.monotonic() - keys.checked < STAMP_SECONDS:
            return keys
        stamp = _stamp(session, project_id)
        if keys is None or keys.stamp != stamp:
            keys = _Keys.build(stamp, _key_rows(session, project_id))
        keys.checked = time.monotonic()
        with self._lock:
            self._entries[place] = keys
            self._entries.move_to_end(place)
            while len(self._entries) > CACHED_PROJECTS:
                self._entries.popitem(last=False)
        return keys


def _stamp(session: Session, project_id: int) -> tuple[int, str]:
    count, latest = session.execute(
        select(func.count(), func.max(PersonSummary.computed_at)).where(
            PersonSummary.project_id == project_id
        )
    ).one()
    return int(count), latest.isoformat() if isinstance(latest, datetime) else str(latest)


def _key_rows(session: Session, project_id: int) -> list[tuple[str, str, str]]:
    rows = session.execute(
        select(PersonSummary.person_id, PersonSummary.email, PersonSummary.name_key).where(
            PersonSummary.project_id == project_id
        )
    )
    return [(str(p), str(e or ""), str(n or "")) for p, e, n in rows]


_KEYS = _KeyCache()
