"""Direct mode (used with a ClickHouse server): no local log, the warehouse write is the
acknowledgement, and retries are recognised by asking the warehouse."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import posthog

from tests.ingest.conftest import Ingesting


def test_acknowledged_events_are_readable_at_once_and_retries_count_once(
    ingesting_direct: Ingesting,
) -> None:
    assert ingesting_direct.server.ingest.wal is None
    client = posthog.Client(
        ingesting_direct.write_key, host=ingesting_direct.server.url, sync_mode=True, max_retries=0
    )
    event_id = str(uuid.uuid4())
    client.capture("paid", distinct_id="anon-1", uuid=event_id, timestamp=datetime.now(UTC))
    client.capture("$identify", distinct_id="user-1", properties={"$anon_distinct_id": "anon-1"})
    events = ingesting_direct.events()  # no flush to wait for
    assert {e["event"] for e in events} == {"paid", "$identify"}
    assert len({e["person_id"] for e in events}) == 1

    ingesting_direct.server.ingest.store.forget_recent()  # as another node would be
    client.capture("paid", distinct_id="anon-1", uuid=event_id, timestamp=datetime.now(UTC))
    assert [e["uuid"] for e in ingesting_direct.events(event="paid")] == [event_id]
