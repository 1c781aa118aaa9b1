"""The analysis pages' GET forms, turned into query objects (and errors into fields)."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from starlette.datastructures import QueryParams

from loopwise.product.contracts import FunnelQuery, RetentionQuery, TrendsQuery

TREND_FIELDS = (
    "event", "math", "math_property", "interval", "days", "breakdown", "compare", "event_b",
    "formula", "cohort", "fkey", "fop", "fvalue", "ftype", "btype",
)  # fmt: skip
FUNNEL_FIELDS = (
    "days", "window", "window_unit", "order", "breakdown", "attribution", "exclude", "cohort",
    "fkey", "fop", "fvalue", "ftype", "btype", "unit",
)  # fmt: skip
RETENTION_FIELDS = (
    "start", "returning", "period", "periods", "cohorting", "criterion", "breakdown", "cohort",
    "fkey", "fop", "fvalue", "ftype", "btype",
)  # fmt: skip
MAX_STEPS = 10


def whole_number(text: str, digits: int = 12) -> bool:
    """Plain ASCII digits only ("²" is a digit to Python but no number to ``int``)."""
    return text.isascii() and text.isdigit() and len(text) <= digits


def read(params: QueryParams, fields: tuple[str, ...]) -> dict[str, str]:
    return {name: params.get(name, "").strip()[:200] for name in fields}


NUMERIC = ("gt", "lt")
NO_VALUE = ("is_set", "is_not_set")


def _cohort(form: dict[str, str], query: dict[str, Any]) -> dict[str, Any]:
    """Only the persons of a saved cohort, when the form picks one; and the form's one
    property filter (``fkey``, ``fop``, ``fvalue``, ``ftype``) when it names a key."""
    if whole_number(form.get("cohort", "")):
        query["cohort"] = {"id": int(form["cohort"])}
    if form.get("fkey"):
        operator = form.get("fop") or "exact"
        item: dict[str, Any] = {"key": form["fkey"], "operator": operator,
                                "type": form.get("ftype") or "event"}  # fmt: skip
        value = form.get("fvalue", "")
        if operator in NUMERIC:
            try:
                item["value"] = float(value)
            except ValueError:
                item["value"] = value  # refused with the reason by the query object
        elif operator not in NO_VALUE:
            item["value"] = value
        query["filters"] = [item]
    return query


def _btype(form: dict[str, str]) -> str:
    return "person" if form.get("btype") == "person" else "event"


def trends_query(form: dict[str, str]) -> TrendsQuery:
    series: dict[str, Any] = {"math": form.get("math") or "total"}
    if form.get("event"):
        series["event"] = form["event"]
    if form.get("math_property"):
        series["math_property"] = form["math_property"]
    query: dict[str, Any] = {
        "series": [series],
        "interval": form.get("interval") or "day",
        "date_range": {"last_days": form.get("days") or 30},
    }
    if form.get("event_b"):  # a second series, measured the same way
        query["series"].append({**series, "event": form["event_b"]})
    if form.get("formula"):
        query["formula"] = form["formula"]
    if form.get("breakdown"):
        query["breakdown"] = {"property": form["breakdown"], "limit": 8, "type": _btype(form)}
    query["compare"] = form.get("compare") == "on"
    return TrendsQuery.model_validate(_cohort(form, query))


def funnel_steps(params: QueryParams) -> list[str]:
    return [s.strip()[:200] for s in params.getlist("step")[:MAX_STEPS] if s.strip()]


def funnel_query(form: dict[str, str], steps: list[str]) -> FunnelQuery:
    query: dict[str, Any] = {
        "steps": [{"event": name} for name in steps],
        "date_range": {"last_days": form.get("days") or 30},
        "window": {"value": form.get("window") or 14, "unit": form.get("window_unit") or "day"},
        "order": form.get("order") or "ordered",
        "aggregate_by": "sessions" if form.get("unit") == "sessions" else "persons",
    }
    if form.get("breakdown"):
        breakdown: dict[str, Any] = {
            "property": form["breakdown"], "limit": 8, "type": _btype(form),
        }  # fmt: skip
        attribution = form.get("attribution") or "first_touch"
        number = attribution.removeprefix("step")
        if attribution.startswith("step") and whole_number(number, 2):
            breakdown.update(attribution="step", step=int(number))
        else:
            breakdown["attribution"] = attribution
        query["breakdown"] = breakdown
    if form.get("exclude") and len(steps) >= 2:
        query["exclusions"] = [
            {"event": form["exclude"], "from_step": 0, "to_step": len(steps) - 1}
        ]
    return FunnelQuery.model_validate(_cohort(form, query))


def retention_query(form: dict[str, str]) -> RetentionQuery:
    query: dict[str, Any] = {
        "start": {"event": form.get("start") or None},
        "returning": {"event": form.get("returning") or None},
        "period": form.get("period") or "week",
        "periods": form.get("periods") or 8,
        "cohorting": form.get("cohorting") or "first_time",
        "criterion": form.get("criterion") or "on",
    }
    if form.get("breakdown"):
        query["breakdown"] = {"property": form["breakdown"], "limit": 8, "type": _btype(form)}
    return RetentionQuery.model_validate(_cohort(form, query))


# Where a validation error is shown when its location names no form field.
_FALLBACK = {"date_range": "days", "last_days": "days", "value": "window", "unit": "window"}


# Errors about the whole query, told apart by what they mention.
_MENTIONS = {"formula": "formula", "counted per day": "interval", "broken down": "breakdown",
             "hourly": "interval", "window": "window", "exclusion": "exclude"}  # fmt: skip


def errors(exc: ValidationError, fields: tuple[str, ...], default: str) -> dict[str, str]:
    """Validation errors keyed by the form field they belong to."""
    found: dict[str, str] = {}
    for error in exc.errors():
        where = [str(part) for part in error["loc"]]
        message = str(error["msg"]).removeprefix("Value error, ")
        field = next((f for f in reversed(where) if f in fields), None)
        if field is None and "filters" in where and "fvalue" in fields:
            field = "fvalue"
        if field is None:
            field = next((_FALLBACK[w] for w in where if w in _FALLBACK), None)
        if field is None:
            mentioned = (f for text, f in _MENTIONS.items() if text in message and f in fields)
            field = next(mentioned, default)
        found.setdefault(field, message)
    return found
