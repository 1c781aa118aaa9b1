"""Persons lists as CSV downloads."""

from __future__ import annotations

import csv
import io

from fastapi.responses import Response
from pydantic import BaseModel

from loopwise.product.contracts import (
    FunnelPerson,
    FunnelPersons,
    PersonList,
    PersonRow,
    PersonsPage,
    TrendPerson,
    TrendPersons,
)

_ROWS: dict[type[BaseModel], type[BaseModel]] = {
    TrendPersons: TrendPerson, FunnelPersons: FunnelPerson, PersonList: PersonRow,
}  # fmt: skip


def persons_csv(found: PersonsPage) -> Response:
    sink = io.StringIO()
    writer = csv.writer(sink)
    columns = list(_ROWS[type(found)].model_fields)
    writer.writerow(columns)
    for item in found.persons:
        row = item.model_dump(mode="json")
        writer.writerow(["" if row[name] is None else row[name] for name in columns])
    headers = {"Content-Disposition": 'attachment; filename="persons.csv"'}
    return Response(sink.getvalue(), media_type="text/csv", headers=headers)
