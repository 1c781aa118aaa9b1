"""Filter conditions and quick filters as SQL over ``person_summaries``, written once for
SQLite and PostgreSQL, and ``did_event`` conditions as questions for the warehouse.

What each field and operator means is in ``people.filters``. Values are checked here and
refused with the condition's path (``conditions[2].value``) naming what is wrong.
"""

from __future__ import annotations

import json
import math
import operator
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Float, String, and_, case, cast, func, literal, not_, or_
from sqlalchemy.orm import Session

from loopwise.core.currency import minor_unit
from loopwise.core.errors import InvalidInput
from loopwise.people.contracts import BANDS, FIELDS, Condition, PeopleConfig
from loopwise.people.models import PeopleSettings, PersonSummary

MAX_DAYS = 36_600
MAX_TIMES = 1_000_000
MAX_TEXT = 500
EXACT = 2**53  # integers compared as integers below this; as floats above
BILLING_STATUSES = ("paying", "trialing", "past_due", "churned", "never_paid")
COMPARE: dict[str, Callable[[Any, Any], Any]] = {
    "eq": operator.eq, "ne": operator.ne, "gt": operator.gt, "gte": operator.ge,
    "lt": operator.lt, "lte": operator.le,
}  # fmt: skip
S = PersonSummary
TEXT_COLUMNS = {"email": S.email, "name": S.name_key, "account": S.account, "plan": S.plan,
                "billing_status": S.billing_status, "band": S.band}  # fmt: skip
NUMBER_COLUMNS = {"health": S.health, "mrr": S.mrr_minor, "active_days": S.active_days,
                  "active_days_28d": S.active_days_28d, "events_7d": S.events_7d,
                  "sessions_30d": S.sessions_30d, "errors_7d": S.errors_7d,
                  "open_tickets": S.open_tickets,
                  "payment_failures_30d": S.payment_failures_30d}  # fmt: skip
DAY_COLUMNS = {"last_seen_days": S.last_seen, "first_seen_days": S.first_seen,
               "churned_days": S.churned_on}  # fmt: skip
LIST_COLUMNS = {"tags": S.tags, "features": S.features}


@dataclass(frozen=True)
class Context:
    """What conditions are compiled against: now, the VIP threshold, the currency of
    ``mrr`` and the database's dialect."""

    now: datetime
    vip_mrr_minor: int
    currency: str
    dialect: str

    @classmethod
    def of(cls, session: Session, project_id: int, now: datetime, currency: str) -> Context:
        if now.utcoffset() is None:
            raise InvalidInput("now", "must be timezone-aware")
        settings = session.get(PeopleSettings, project_id)
        vip = settings.vip_mrr_minor if settings is not None else PeopleConfig().vip_mrr_minor
        return cls(now, vip, currency, session.get_bind().dialect.name)

    @property
    def today(self) -> date:
        return self.now.astimezone(UTC).date()


@dataclass(frozen=True)
class Behaviour:
    """A ``did_event`` condition: who did ``event`` ``times`` times in ``days`` days
    (``negate``: who did not), once the warehouse has answered (``persons``)."""

    event: str
    days: int
    times: int
    negate: bool
    persons: frozenset[str] = frozenset()

    def holds(self, person_id: str) -> bool:
        return (person_id in self.persons) != self.negate


def quick_tests(c: Context) -> dict[str, ColumnElement[bool]]:
    """Each quick filter's test, by name (``contracts.QUICK_FILTERS``)."""
    week, month = c.now - timedelta(days=7), c.today - timedelta(days=30)
    return {
        "at_risk": S.band.in_(("at_risk", "critical")),
        "payment_failed": or_(S.open_failures > 0, S.payment_failures_30d > 0),
        "open_tickets": S.open_tickets > 0,
        "churned_30d": and_(S.billing_status == "churned", S.churned_on >= month,
                            S.churned_on <= c.today),
        "vip": vip_test(c),
        # First known (the earlier of the first event and the identity service's record)
        # within 7 days: people imported in bulk are not new because of the import.
        "new_this_week": and_(
            or_(S.first_seen.is_not(None), S.created_at.is_not(None)),
            or_(S.first_seen.is_(None), S.first_seen >= week),
            or_(S.created_at.is_(None), S.created_at >= week),
        ),
    }  # fmt: skip


def vip_test(c: Context) -> ColumnElement[bool]:
    """Marked VIP, or paying at least the project's VIP MRR."""
    return or_(S.vip.is_(True), S.mrr_minor >= c.vip_mrr_minor)


# --- conditions ---------------------------------------------------------------------------


def compile_condition(c: Context, cond: Condition, path: str) -> ColumnElement[bool] | Behaviour:
    """A condition as a test of the summaries, or a behaviour for the warehouse."""
    kind = FIELDS[cond.field]
    if kind == "event":
        return _did_event(cond, path)
    build = {"text": _text, "number": _number, "days": _days, "list": _list, "bool": _bool,
             "property": _property}[kind]  # fmt: skip
    return build(c, cond, path)


def _ops(cond: Condition, path: str, allowed: tuple[str, ...]) -> None:
    if cond.op not in allowed:
        raise InvalidInput(f"{path}.op", f"{cond.field} takes {', '.join(allowed)}")


def _text(c: Context, cond: Condition, path: str) -> ColumnElement[bool]:
    column = TEXT_COLUMNS[cond.field]
    _ops(cond, path, ("eq", "ne", "contains", "not_contains", "is_set", "is_not_set"))
    if cond.op in ("is_set", "is_not_set"):
        return column != "" if cond.op == "is_set" else column == ""
    value = _text_value(cond, path).lower()
    folded = column if cond.field in ("email", "name") else func.lower(column)
    known = {"band": BANDS, "billing_status": BILLING_STATUSES}.get(cond.field)
    if cond.op in ("eq", "ne"):
        if known and value not in known:
            raise InvalidInput(f"{path}.value", f"is one of {', '.join(known)}")
        return COMPARE[cond.op](folded, value)  # type: ignore[no-any-return]
    found = folded.contains(value, autoescape=True)
    return found if cond.op == "contains" else not_(found)


def _number(c: Context, cond: Condition, path: str) -> ColumnElement[bool]:
    column = NUMBER_COLUMNS[cond.field]
    if cond.field == "health" and cond.op in ("is_set", "is_not_set"):
        return column.is_not(None) if cond.op == "is_set" else column.is_(None)
    _ops(cond, path, tuple(COMPARE))
    value = _number_value(cond, path)
    if cond.field == "mrr":
        value *= minor_unit(c.currency)
    return COMPARE[cond.op](column, _bound(value))  # type: ignore[no-any-return]


def _days(c: Context, cond: Condition, path: str) -> ColumnElement[bool]:
    column = DAY_COLUMNS[cond.field]
    if cond.op in ("is_set", "is_not_set"):
        return column.is_not(None) if cond.op == "is_set" else column.is_(None)
    _ops(cond, path, (*COMPARE, "is_set", "is_not_set"))
    days = _whole(cond, path, 0, MAX_DAYS)
    # "More than N days ago" is before the edge; "N days ago" is the day before it.
    edge: date | datetime = (c.today if cond.field == "churned_days" else c.now) - timedelta(days)
    before = edge - timedelta(days=1)
    tests = {
        "gt": column < edge, "gte": column <= edge, "lt": column > edge, "lte": column >= edge,
        "eq": and_(column <= edge, column > before), "ne": or_(column > edge, column <= before),
    }  # fmt: skip
    return tests[cond.op]


def _list(c: Context, cond: Condition, path: str) -> ColumnElement[bool]:
    stored = cast(LIST_COLUMNS[cond.field], String)
    _ops(cond, path, ("contains", "not_contains", "is_set", "is_not_set"))
    empty = or_(stored.is_(None), stored.in_(("[]", "null")))
    if cond.op in ("is_set", "is_not_set"):
        return not_(empty) if cond.op == "is_set" else empty
    # A JSON list's text holds each element quoted, as json.dumps writes it.
    element = json.dumps(_text_value(cond, path)).lower()
    found = func.lower(stored).contains(element, autoescape=True)
    return found if cond.op == "contains" else or_(empty, not_(found))


def _bool(c: Context, cond: Condition, path: str) -> ColumnElement[bool]:
    _ops(cond, path, ("eq", "ne"))
    wanted = _bool_value(cond, path) == (cond.op == "eq")
    return vip_test(c) if wanted else not_(vip_test(c))


def _did_event(cond: Condition, path: str) -> Behaviour:
    _ops(cond, path, ("eq", "gte", "is_set", "lt", "is_not_set"))
    times = 1 if cond.value is None or "set" in cond.op else _whole(cond, path, 1, MAX_TIMES)
    return Behaviour(cond.event, cond.days, times, negate=cond.op in ("lt", "is_not_set"))


def _property(c: Context, cond: Condition, path: str) -> ColumnElement[bool]:
    if any(ch in cond.key for ch in '"\\') or not cond.key.isprintable():
        raise InvalidInput(f"{path}.key", "a property name without quotes or backslashes")
    kind, text, number = _json_parts(c.dialect, cond.key)
    if cond.op in ("is_set", "is_not_set"):
        return kind != "null" if cond.op == "is_set" else kind == "null"
    if cond.op in ("gt", "gte", "lt", "lte"):
        wanted = _bound(_number_value(cond, path))
        return and_(kind == "number", COMPARE[cond.op](number, wanted))
    if cond.op in ("contains", "not_contains"):
        value = _text_value(cond, path).lower()
        found = and_(kind == "string", func.lower(text).contains(value, autoescape=True))
        return found if cond.op == "contains" else not_(found)
    equal = _property_equals(cond, path, kind, text, number)
    return equal if cond.op == "eq" else not_(equal)


def _property_equals(
    cond: Condition,
    path: str,
    kind: ColumnElement[Any],
    text: ColumnElement[Any],
    number: ColumnElement[Any],
) -> ColumnElement[bool]:
    """A stored number equal to a given number, text equal to text (case ignored), or a
    stored true/false equal to a given one."""
    value = cond.value
    if isinstance(value, bool):
        return kind == ("true" if value else "false")
    given = _text_value(cond, path)
    tests = [and_(kind == "string", func.lower(text) == given.lower())]
    if given.lower() in ("true", "false"):
        tests.append(kind == given.lower())
    parsed = _as_number(value)
    if parsed is not None:
        tests.append(and_(kind == "number", number == _bound(parsed)))
    return or_(*tests)


def _json_parts(
    dialect: str, key: str
) -> tuple[ColumnElement[Any], ColumnElement[Any], ColumnElement[Any]]:
    """A person property's JSON kind (number, string, true, false, object, array; null
    when missing), its text and its number, for both databases."""
    if dialect == "postgresql":
        item = S.properties[key]
        typed = func.json_typeof(item)
        text: ColumnElement[Any] = item.as_string()
        kind = case((typed == "boolean", text), else_=func.coalesce(typed, "null"))
    else:
        where = f'$."{key}"'
        typed = func.json_type(S.properties, where)
        text = func.json_extract(S.properties, where)
        kind = case((typed.in_(("integer", "real")), "number"), (typed == "text", "string"),
                    else_=func.coalesce(typed, "null"))  # fmt: skip
    number = case((kind == "number", cast(text, Float)))
    return kind, text, number


# --- values ---------------------------------------------------------------------------------


def _text_value(cond: Condition, path: str) -> str:
    value = cond.value
    if isinstance(value, str) and value.strip():
        if len(value) > MAX_TEXT or "\x00" in value:
            raise InvalidInput(f"{path}.value", f"text of at most {MAX_TEXT} characters")
        return value.strip()
    if isinstance(value, float) and not isinstance(value, bool) and math.isfinite(value):
        return str(int(value)) if value.is_integer() else str(value)
    raise InvalidInput(f"{path}.value", "give the text to compare with")


def _as_number(value: object) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _number_value(cond: Condition, path: str) -> float:
    number = _as_number(cond.value)
    if number is None:
        raise InvalidInput(f"{path}.value", f"{cond.field} compares with a number")
    return number


def _whole(cond: Condition, path: str, low: int, high: int) -> int:
    number = _as_number(cond.value)
    if number is None or not number.is_integer() or not low <= number <= high:
        raise InvalidInput(f"{path}.value", f"a whole number from {low} to {high:,}")
    return int(number)


def _bool_value(cond: Condition, path: str) -> bool:
    value = cond.value
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false", "yes", "no"):
        return value.strip().lower() in ("true", "yes")
    raise InvalidInput(f"{path}.value", "true or false")


def _bound(value: float) -> Any:
    """A number as a bound value typed so both databases compare it exactly."""
    return int(value) if value.is_integer() and abs(value) < EXACT else literal(value, Float)
