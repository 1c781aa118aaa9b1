"""Reading a CSV upload for an all-or-nothing import: every row checked before anything is
written, every problem named by line and field."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

MAX_ROWS = 200_000


@dataclass(frozen=True)
class RowError:
    line: int
    field: str
    message: str


class ImportRefused(Exception):
    """The file was not imported; ``errors`` says why, line by line."""

    def __init__(self, errors: list[RowError]) -> None:
        super().__init__(f"{len(errors)} problem(s) in the file")
        self.errors = errors


def csv_rows(text: str, needed: tuple[str, ...]) -> list[tuple[int, dict[str, str]]]:
    """A CSV file's rows as (line number, stripped values by column); refuses a file that
    is not text, lacks a needed column, is not readable CSV, is empty or too long."""
    if "\x00" in text:
        raise ImportRefused([RowError(1, "", "the file holds NUL characters: is it text?")])
    reader = csv.DictReader(io.StringIO(text))
    found: list[tuple[int, dict[str, str]]] = []
    try:
        missing = [c for c in needed if c not in (reader.fieldnames or [])]
        if missing:
            raise ImportRefused([RowError(1, c, "column missing from the header") for c in missing])
        for row in reader:
            if len(found) >= MAX_ROWS:
                too_long = f"a file holds at most {MAX_ROWS:,} rows"
                raise ImportRefused([RowError(reader.line_num, "", too_long)])
            values = {k: (v or "").strip() for k, v in row.items() if isinstance(k, str)}
            found.append((reader.line_num, values))
    except csv.Error as exc:
        unreadable = f"the file is not readable CSV: {exc}"
        raise ImportRefused([RowError(reader.line_num, "", unreadable)]) from None
    if not found:
        raise ImportRefused([RowError(2, "", "the file has no rows")])
    return found
