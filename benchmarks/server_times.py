"""Server time of each request, read from the app's request log (``loopwise.web``: one
record per request with its ``path`` and ``ms``), for the benchmarks that time pages
through the real app with a ``TestClient``."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

REQUEST_LOG = "loopwise.web"


class RequestTimes(logging.Handler):
    """Milliseconds of server time per request path, as the requests finish."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.ms: dict[str, list[float]] = {}

    def emit(self, record: logging.LogRecord) -> None:
        path, ms = getattr(record, "path", None), getattr(record, "ms", None)
        if isinstance(path, str) and isinstance(ms, float | int):
            self.ms.setdefault(path, []).append(float(ms))


@contextmanager
def request_times() -> Iterator[RequestTimes]:
    """Collect server times while the block runs."""
    times, logger = RequestTimes(), logging.getLogger(REQUEST_LOG)
    logger.addHandler(times)
    logger.setLevel(logging.INFO)
    try:
        yield times
    finally:
        logger.removeHandler(times)


def percentile(values: list[float], share: float) -> float:
    """The value below which ``share`` of ``values`` fall (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]
