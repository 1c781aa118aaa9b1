"""Event property filters as SQL conditions, written once for both engines.

Values never enter the SQL text: each condition names parameters that ``params`` receives.
Keys of the materialised hot columns (``$current_url``, ``utm_source`` …) use the column.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from loopwise.product.contracts import PropertyFilter
from loopwise.warehouse.dialect import Dialect
from loopwise.warehouse.schema import HOT_COLUMNS

_HOT = {key: column for column, key in HOT_COLUMNS.items()}


def property_text(
    d: Dialect, key: str, params: dict[str, Any], name: str, *, hot: bool = True
) -> str:
    """The property as text ('' when missing or not a string); ``hot=False`` reads the
    JSON even for keys with a materialised column."""
    if hot and key in _HOT:
        return _HOT[key]
    params[name] = key
    return d.json_string("properties", name)


def conditions(
    d: Dialect,
    filters: Sequence[PropertyFilter],
    params: dict[str, Any],
    prefix: str,
    *,
    hot: bool = True,
) -> list[str]:
    """One SQL condition per event filter (person filters are applied by
    ``queries.cohorts.cohort_source``); ``prefix`` keeps parameter names unique;
    ``hot=False`` reads every key from the JSON ``properties`` (for rows without the hot
    columns)."""
    return [
        _condition(d, f, params, f"{prefix}{i}", hot)
        for i, f in enumerate(filters)
        if f.type == "event"
    ]


def _condition(
    d: Dialect, item: PropertyFilter, params: dict[str, Any], name: str, hot: bool
) -> str:
    op, value = item.operator, item.value
    if op in ("gt", "lt"):
        params[f"{name}_k"], params[f"{name}_v"] = item.key, float(value)  # type: ignore[arg-type]
        number = d.json_number("properties", f"{name}_k")
        return f"coalesce({number} {'>' if op == 'gt' else '<'} {{{name}_v}}, false)"
    if op in ("is_set", "is_not_set"):
        if hot and item.key in _HOT:
            present = f"{_HOT[item.key]} != ''"
        else:
            params[f"{name}_k"] = item.key
            present = d.json_has("properties", f"{name}_k")
        return present if op == "is_set" else f"NOT ({present})"
    text = property_text(d, item.key, params, f"{name}_k", hot=hot)
    if op in ("is_date_before", "is_date_after"):
        moment = datetime.fromisoformat(str(value))
        params[f"{name}_v"] = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        compare = "<" if op == "is_date_before" else ">"
        return f"coalesce({d.parse_time(text)} {compare} {{{name}_v}}, false)"
    params[f"{name}_v"] = value
    if op == "exact":
        return f"{text} = {{{name}_v}}"
    if op == "is_not":
        return f"{text} != {{{name}_v}}"
    if op == "in":
        return d.in_array(text, f"{name}_v")
    if op in ("icontains", "not_icontains"):
        found = d.contains_ci(text, f"{name}_v")
        return found if op == "icontains" else f"NOT {found}"
    matched = d.regex_match(text, f"{name}_v")
    return matched if op == "regex" else f"NOT {matched}"
