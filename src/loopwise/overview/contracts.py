"""What the overview returns: plain frozen records, no warehouse rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime


@dataclass(frozen=True)
class Headline:
    label: str
    value: int
    previous: int

    @property
    def change(self) -> float | None:
        """Relative change against the previous period of the same length."""
        if self.previous == 0:
            return None
        return (self.value - self.previous) / self.previous


@dataclass(frozen=True)
class DailyPoint:
    day: date
    events: int
    persons: int


@dataclass(frozen=True)
class Ranked:
    name: str
    count: int
    persons: int


@dataclass(frozen=True)
class Overview:
    days: int
    timezone: str
    headlines: tuple[Headline, ...]
    daily: tuple[DailyPoint, ...]
    top_events: tuple[Ranked, ...]
    top_pages: tuple[Ranked, ...]
    sources: tuple[Ranked, ...]
    computed_at: datetime

    @property
    def is_empty(self) -> bool:
        return all(h.value == 0 and h.previous == 0 for h in self.headlines)
