"""Exchange rates for the reporting currency, imported as CSV (``date,currency,rate``:
reporting-currency units per unit of ``currency`` from that day on).

A subscription priced in another currency is converted at the rate in force at the start
of each state's service period; when only the rate changes, the difference is the FX
effect, reported on its own and never as a movement (docs/metrics/revenue.md).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation

from sqlalchemy import update
from sqlalchemy.orm import Session

from loopwise.core import audit
from loopwise.core.audit import Actor
from loopwise.core.csvfile import ImportRefused, RowError, csv_rows
from loopwise.revenue.models import FxRate, LedgerState


def import_rates(session: Session, actor: Actor, project_id: int, text: str, reporting: str) -> int:
    """All rows or none; a rate for a day and currency already held is replaced. Every
    customer's MRR is recomputed on the next read (rates may change any of them)."""
    rows: dict[tuple[str, date], Decimal] = {}
    errors: list[RowError] = []
    for line, values in csv_rows(text, ("date", "currency", "rate")):
        try:
            day = date.fromisoformat(values["date"])
            if not 1970 <= day.year <= 2100:
                raise ValueError
        except ValueError:
            errors.append(RowError(line, "date", "is an ISO date between 1970 and 2100"))
            continue
        currency = values["currency"].lower()
        if not (len(currency) == 3 and currency.isascii() and currency.isalpha()):
            errors.append(RowError(line, "currency", "is a three-letter ISO code"))
            continue
        if currency == reporting.lower():
            errors.append(RowError(line, "currency", f"is the reporting currency ({reporting})"))
            continue
        try:
            rate = Decimal(values["rate"])
            if not rate.is_finite() or not Decimal("1e-9") <= rate <= Decimal("1e9"):
                raise InvalidOperation
        except InvalidOperation:
            errors.append(RowError(line, "rate", "is a positive number (reporting units per unit)"))
            continue
        rows[(currency, day)] = rate
    if errors:
        raise ImportRefused(errors[:200])
    for (currency, day), rate in rows.items():
        found = session.get(FxRate, (project_id, currency, day))
        if found is None:
            session.add(FxRate(project_id=project_id, currency=currency, day=day, rate=rate))
        else:
            found.rate = rate
    session.execute(
        update(LedgerState).where(LedgerState.project_id == project_id).values(rules_key="")
    )
    audit.record(session, actor, "revenue.imported", "fx_rates", project_id=project_id,
                 rows=len(rows))  # fmt: skip
    return len(rows)
