"""The write-ahead log: group commit, reading back, checkpoints, torn tails, back-pressure."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from loopwise.core.settings import Settings
from loopwise.ingest.wal import Overloaded, Position, WriteAheadLog
from loopwise.web.app import create_app
from loopwise.web.context import open_context
from tests.factories import create_project


@pytest.fixture
def log(tmp_path: Path) -> Iterator[WriteAheadLog]:
    wal = WriteAheadLog(tmp_path / "wal", segment_bytes=1024)
    yield wal
    wal.close()


def payloads(wal: WriteAheadLog, start: Position | None = None) -> list[bytes]:
    return [p for _, p in wal.read(start or wal.checkpoint, 10**9)]


def test_concurrent_appends_all_become_durable_in_order_of_commit(log: WriteAheadLog) -> None:
    futures = []
    lock = threading.Lock()

    def writer(n: int) -> None:
        for i in range(50):
            future = log.append(f"{n}:{i}".encode())
            with lock:
                futures.append(future)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    positions = [future.result(timeout=10) for future in futures]
    assert all(isinstance(p, Position) for p in positions)
    stored = payloads(log)
    assert sorted(stored) == sorted(f"{n}:{i}".encode() for n in range(4) for i in range(50))
    for n in range(4):  # each writer's records keep their order
        mine = [p for p in stored if p.startswith(f"{n}:".encode())]
        assert mine == [f"{n}:{i}".encode() for i in range(50)]
    assert len(log.segments()) > 1  # 1 KB segments rotated


def test_checkpoint_deletes_flushed_segments_and_a_restart_replays_the_rest(tmp_path: Path) -> None:
    wal = WriteAheadLog(tmp_path / "wal", segment_bytes=64)
    positions = [wal.append(bytes([i]) * 40).result(timeout=5) for i in range(6)]
    wal.set_checkpoint(positions[3])
    assert payloads(wal) == [bytes([4]) * 40, bytes([5]) * 40]
    assert min(wal.segments()) >= positions[3].segment
    wal.close()
    reopened = WriteAheadLog(tmp_path / "wal", segment_bytes=64)
    assert payloads(reopened) == [bytes([4]) * 40, bytes([5]) * 40]
    reopened.close()


def test_a_torn_record_at_the_end_is_cut_off_on_start(tmp_path: Path) -> None:
    wal = WriteAheadLog(tmp_path / "wal")
    wal.append(b"first").result(timeout=5)
    wal.append(b"second").result(timeout=5)
    wal.close()
    segment = sorted((tmp_path / "wal").glob("wal-*.log"))[-1]
    data = segment.read_bytes()
    segment.write_bytes(data[:-3])  # the crash hit mid-write
    reopened = WriteAheadLog(tmp_path / "wal")
    assert payloads(reopened) == [b"first"]
    assert segment.stat().st_size < len(data)
    reopened.append(b"third").result(timeout=5)
    assert payloads(reopened) == [b"first", b"third"]
    reopened.close()


def test_a_full_backlog_refuses_appends(log: WriteAheadLog) -> None:
    log.append(b"x" * 100).result(timeout=5)
    log.max_backlog_bytes = 50
    with pytest.raises(Overloaded):
        log.append(b"y")


def test_overload_answers_503_with_retry_after(settings: Settings) -> None:
    context = open_context(settings)
    with TestClient(create_app(settings, context), base_url="http://127.0.0.1") as client:
        project = create_project(context)
        assert context.ingest is not None
        assert context.ingest.wal is not None
        context.ingest.wal.max_backlog_bytes = 0
        answer = client.post(
            "/batch/",
            json={"api_key": project.write_key, "batch": [{"event": "e", "distinct_id": "a"}]},
        )
        assert answer.status_code == 503
        assert answer.headers["retry-after"] == "5"
        assert "busy" in answer.json()["detail"]
        segment = client.post(
            "/v1/track", json={"writeKey": project.write_key, "event": "e", "userId": "a"}
        )
        assert segment.status_code == 503
