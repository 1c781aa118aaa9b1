"""From request body to rows ready for the log: the CPU-bound half of a capture request.

``prepare_body`` decodes the body, parses its messages, finds the project by write key,
runs the privacy pipeline and builds the Arrow rows. It does no waiting and holds no
state of its own, so it runs the same way on the event loop (small bodies), on a thread,
or in a parser process (``workers``) where it uses both cores. The ``Resolver`` answers the
two questions it needs the app database for: whose key is this, and what are their rules.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import datetime
from typing import Any, Protocol

import pyarrow as pa

from loopwise.ingest.facade import events_to_arrow
from loopwise.ingest.formats.common import ParsedBatch, Rejection, RequestMeta
from loopwise.ingest.formats.posthog import parse_posthog
from loopwise.ingest.formats.segment import parse_segment
from loopwise.ingest.pipeline import IngestPolicy, StepContext, run_pipeline
from loopwise.ingest.privacy import STEPS
from loopwise.ingest.wire import WireError, decode_body

_NO_SALT = b"\x00" * 32


class Resolver(Protocol):
    def project_for_key(self, key: str) -> int | None: ...

    def policy(self, project_id: int) -> IngestPolicy: ...

    def salt(self, moment: datetime) -> bytes: ...


@dataclass(frozen=True)
class RequestInfo:
    """Everything about a request except its body; small and picklable."""

    source: str  # "posthog" | "segment"
    call: str  # Segment call type, or "" for PostHog
    content_type: str
    query: dict[str, str]
    meta: RequestMeta
    auth_key: str | None = None


@dataclass
class Prepared:
    """The outcome: an error (status, field, message), or rows to store and what was not."""

    status: int
    field: str = ""
    message: str = ""
    project_id: int | None = None
    rejections: list[Rejection] = dataclass_field(default_factory=list)
    drops: dict[str, int] = dataclass_field(default_factory=dict)
    seconds: dict[str, float] = dataclass_field(default_factory=dict)
    events: int = 0  # events that went into the pipeline
    rows: pa.Table | None = None

    @property
    def stored(self) -> int:
        return 0 if self.rows is None else int(self.rows.num_rows)


def prepare_body(raw: bytes, info: RequestInfo, resolver: Resolver) -> Prepared:
    try:
        body = decode_body(raw, info.content_type, info.query)
        parsed = _parse(body, info)
    except WireError as exc:
        return Prepared(exc.status, exc.field, exc.message)
    key = parsed.write_key
    project_id = resolver.project_for_key(key) if key and len(key) <= 64 else None
    if project_id is None:
        field_name = "api_key" if info.source == "posthog" else "writeKey"
        message = "is missing or is not the write key of any project"
        return Prepared(401, field_name, message)
    prepared = Prepared(200, project_id=project_id, rejections=parsed.rejections)
    if not parsed.drafts:
        first = parsed.rejections[0]
        where = f"batch[{first.index}].{first.field}"
        prepared.status, prepared.field, prepared.message = 400, where, first.message
        return prepared
    received_at = info.meta.received_at
    policy = resolver.policy(project_id)
    salt = resolver.salt(received_at) if policy.cookieless else _NO_SALT
    outcome = run_pipeline(STEPS, parsed.drafts, StepContext(project_id, policy, received_at, salt))
    prepared.events = len(parsed.drafts)
    prepared.seconds = outcome.seconds
    prepared.drops = {reason.value: n for reason, n in Counter(outcome.drops).items()}
    if outcome.kept:
        prepared.rows = events_to_arrow(project_id, outcome.kept, received_at, person_ids=False)
    return prepared


def _parse(body: Any, info: RequestInfo) -> ParsedBatch:
    if info.source == "posthog":
        return parse_posthog(body, info.query, info.meta)
    return parse_segment(body, info.call, info.meta, info.auth_key)
