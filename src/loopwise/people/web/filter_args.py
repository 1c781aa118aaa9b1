"""The people list's filter as query parameters, read and written in one place.

The filter builder is a plain GET form, so it works without JavaScript, and the same
parameters serve the JSON API, saved links and the hidden fields of the bulk forms:

``q``            search text (name, e-mail, account, distinct id)
``quick``        a quick filter, repeated (``quick=at_risk&quick=vip``)
``match``        ``all`` (default) or ``any`` of the conditions
``sort``         one of ``FilterSpec.sort``'s values
``f0`` … ``f19`` condition *i*'s field; a condition whose field is blank is ignored
``o``\\ *i*       its operator (``eq`` when blank)
``v``\\ *i*       its value: a number for number and days fields, ``true``/``false`` for
                 ``vip``, the least count for ``did_event`` (1 when blank)
``k``\\ *i*       the property, for field ``property``
``e``\\ *i*, ``d``\\ *i*  the event and the days looked back, for field ``did_event``

A bad value raises ``InvalidInput`` naming the parameter (``v2``), so the page shows the
message beside that input and the API answers 422 naming it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from pydantic import ValidationError
from starlette.datastructures import ImmutableMultiDict

from loopwise.core.errors import InvalidInput
from loopwise.people.contracts import (
    FIELDS,
    MAX_CONDITIONS,
    OPERATORS,
    QUICK_FILTERS,
    Condition,
    FilterSpec,
)

SORTS = ("-last_seen", "last_seen", "-health", "health", "-mrr", "name", "-created")
SORT_LABELS = {
    "-last_seen": "last seen, newest first", "last_seen": "last seen, oldest first",
    "-health": "healthiest first", "health": "least healthy first", "-mrr": "highest MRR first",
    "name": "name", "-created": "newest people first",
}  # fmt: skip
OPERATOR_LABELS = {
    "eq": "is", "ne": "is not", "gt": ">", "gte": "≥", "lt": "<", "lte": "≤",
    "contains": "contains", "not_contains": "does not contain", "is_set": "is set",
    "is_not_set": "is not set",
}  # fmt: skip
FIELD_LABELS = {
    "email": "E-mail", "name": "Name", "account": "Account", "plan": "Plan",
    "billing_status": "Billing status", "band": "Health band", "tags": "Tags",
    "features": "Features used (30 days)", "vip": "VIP", "mrr": "MRR",
    "health": "Health score", "active_days": "Active days (all time)",
    "active_days_28d": "Active days (28 days)", "events_7d": "Events (7 days)",
    "sessions_30d": "Sessions (30 days)", "errors_7d": "Errors (7 days)",
    "open_tickets": "Open tickets", "payment_failures_30d": "Payment failures (30 days)",
    "last_seen_days": "Days since last seen", "first_seen_days": "Days since first seen",
    "churned_days": "Days since churn", "property": "Person property…",
    "did_event": "Did event…",
}  # fmt: skip
_TRUE = ("true", "yes", "1", "on")
_FALSE = ("false", "no", "0", "off")
_NUMERIC_OPS = ("gt", "gte", "lt", "lte")


# A query string or a posted form: one value by name, or all values of a repeated name.
Params = ImmutableMultiDict[str, Any]


def _text(params: Params, name: str) -> str:
    value = params.get(name)
    return value.strip() if isinstance(value, str) else ""


def _number(text: str, name: str) -> float:
    try:
        value = float(text.replace(",", ""))
    except ValueError:
        raise InvalidInput(name, "is a number") from None
    if value != value or abs(value) > 1e15:  # NaN or absurd
        raise InvalidInput(name, "is a number")
    return value


def _whole(text: str, name: str, low: int, high: int) -> int:
    if not (text.isascii() and text.isdigit() and low <= int(text) <= high):
        raise InvalidInput(name, f"is a whole number from {low} to {high}")
    return int(text)


def _value(kind: str, op: str, text: str, name: str) -> str | float | bool | None:
    """The value typed for the field's kind; ``None`` where the operator needs none."""
    if op in ("is_set", "is_not_set"):
        return None
    if kind == "event":
        return _number(text, name) if text else 1.0
    if not text:
        raise InvalidInput(name, "needs a value")
    if kind in ("number", "days"):
        return _number(text, name)
    if kind == "bool":
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
        raise InvalidInput(name, "is true or false")
    if kind == "property" and op in _NUMERIC_OPS:
        return _number(text, name)
    return text


def _condition(params: Params, i: int) -> Condition | None:
    field = _text(params, f"f{i}")
    if not field:
        return None
    if field not in FIELDS:
        raise InvalidInput(f"f{i}", f"is one of {', '.join(FIELDS)}")
    op = _text(params, f"o{i}") or "eq"
    if op not in OPERATORS:
        raise InvalidInput(f"o{i}", f"is one of {', '.join(OPERATORS)}")
    kind = FIELDS[field]
    key, event = _text(params, f"k{i}"), _text(params, f"e{i}")
    if kind == "property" and not key:
        raise InvalidInput(f"k{i}", "names the person property")
    if kind == "event" and not event:
        raise InvalidInput(f"e{i}", "names the event")
    days = _text(params, f"d{i}")
    raw = {"field": field, "op": op, "value": _value(kind, op, _text(params, f"v{i}"), f"v{i}"),
           "key": key, "event": event}  # fmt: skip
    if kind == "event":
        raw["days"] = _whole(days, f"d{i}", 1, 366) if days else 30
    try:
        return Condition(**raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = {"key": "k", "event": "e", "days": "d"}.get(str(first["loc"][0] if first["loc"]
                                                                 else ""), "v")  # fmt: skip
        raise InvalidInput(f"{where}{i}", first["msg"].removeprefix("Value error, ")) from None


def spec_from(params: Params) -> FilterSpec:
    """The filter a query string or form describes; ``InvalidInput`` names a bad parameter."""
    quick = [name for name in params.getlist("quick") if isinstance(name, str) and name]
    for name in quick:
        if name not in QUICK_FILTERS:
            raise InvalidInput("quick", f"is one of {', '.join(QUICK_FILTERS)}")
    match = _text(params, "match") or "all"
    if match not in ("all", "any"):
        raise InvalidInput("match", "is all or any")
    sort = _text(params, "sort") or "-last_seen"
    if sort not in SORTS:
        raise InvalidInput("sort", f"is one of {', '.join(SORTS)}")
    q = _text(params, "q")
    if len(q) > 200:
        raise InvalidInput("q", "is at most 200 characters")
    found = (_condition(params, i) for i in range(MAX_CONDITIONS))
    conditions = [c for c in found if c is not None]
    return FilterSpec(q=q, quick=list(dict.fromkeys(quick)), conditions=conditions,
                      match=match, sort=sort)  # fmt: skip


def _shown(value: str | float | bool | None) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def condition_params(c: Condition, i: int) -> list[tuple[str, str]]:
    pairs = [(f"f{i}", c.field), (f"o{i}", c.op), (f"v{i}", _shown(c.value))]
    if c.field == "property":
        pairs.append((f"k{i}", c.key))
    if c.field == "did_event":
        pairs += [(f"e{i}", c.event), (f"d{i}", str(c.days))]
    return pairs


def spec_params(spec: FilterSpec) -> list[tuple[str, str]]:
    """The query parameters that describe ``spec`` (defaults left out), for links."""
    pairs: list[tuple[str, str]] = [("q", spec.q)] if spec.q else []
    pairs += [("quick", name) for name in spec.quick]
    if spec.match != "all":
        pairs.append(("match", spec.match))
    if spec.sort != "-last_seen":
        pairs.append(("sort", spec.sort))
    for i, condition in enumerate(spec.conditions):
        pairs += condition_params(condition, i)
    return pairs


def with_quick(spec: FilterSpec, name: str) -> FilterSpec:
    """``spec`` with the quick filter ``name`` switched on or off (for the chips)."""
    quick = [q for q in spec.quick if q != name] if name in spec.quick else [*spec.quick, name]
    return spec.model_copy(update={"quick": quick})


def rows_for_form(params: Iterable[tuple[str, str]]) -> list[dict[str, str]]:
    """The builder's rows as typed (even when refused, so a bad value stays in its input
    beside its message), each with its index ``i``, and one blank row to add a condition."""
    raw = dict(params)
    rows = [
        {"i": str(i), **{p: raw.get(f"{p}{i}", "") for p in ("f", "o", "v", "k", "e", "d")}}
        for i in range(MAX_CONDITIONS)
        if raw.get(f"f{i}", "").strip()
    ]
    free = [i for i in range(MAX_CONDITIONS) if not raw.get(f"f{i}", "").strip()]
    if free:
        rows.append({"i": str(free[0]), "f": "", "o": "eq", "v": "", "k": "", "e": "", "d": "30"})
    return rows


_PARTS = {"field": "f", "op": "o", "value": "v", "key": "k", "event": "e", "days": "d"}
_ENGINE_FIELD = re.compile(r"conditions\[(\d+)\]\.(\w+)")


def param_of(params: Params, field: str) -> str:
    """The parameter behind a field the filter engine names: ``conditions[1].op`` is
    ``o3`` when the second condition came from the builder's fourth row."""
    found = _ENGINE_FIELD.fullmatch(field)
    if found is None:
        return field
    rows = [i for i in range(MAX_CONDITIONS) if _text(params, f"f{i}")]
    index = int(found.group(1))
    if index >= len(rows):
        return field
    return f"{_PARTS.get(found.group(2), 'v')}{rows[index]}"
