"""The write-ahead log: a request is acknowledged once its events are on disk.

Records are appended to numbered segment files (``wal-<n>.log``). One writer thread takes
every record waiting at that moment, writes them with one system call and makes them
durable with one ``fdatasync`` (group commit): concurrent requests share the cost of the
disk flush, so durability costs about one flush per burst, not one per request.

A record is ``magic, length, CRC-32, payload``. On start, a record cut short by a crash
(length or checksum wrong) at the end of the newest segment is cut off: its request was
never acknowledged, since acknowledgement waits for the flush. The flusher reads records
up to the durable end and, once they are in the warehouse, moves the checkpoint
(``checkpoint``, replaced atomically); segments wholly before it are deleted.
"""

from __future__ import annotations

import logging
import os
import struct
import threading
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

_HEADER = struct.Struct("<III")
_MAGIC = 0x4C57414C  # "LWAL"
_MAX_RECORD = 256 * 1024 * 1024


class Overloaded(Exception):
    """More data is waiting than the log accepts; the caller should answer 503."""


@dataclass(frozen=True, order=True, slots=True)
class Position:
    """A place in the log: segment number and byte offset within it."""

    segment: int
    offset: int


class WriteAheadLog:
    """Durable, ordered records in ``directory``; one instance per directory and process."""

    def __init__(
        self,
        directory: Path,
        *,
        segment_bytes: int = 64 * 1024 * 1024,
        max_backlog_bytes: int = 1024 * 1024 * 1024,
    ) -> None:
        self._dir = directory
        self._dir.mkdir(parents=True, exist_ok=True)
        self._segment_bytes = segment_bytes
        self.max_backlog_bytes = max_backlog_bytes
        self._checkpoint_path = directory / "checkpoint"
        self._checkpoint = self._read_checkpoint()
        self._repair_tail()
        segments = self.segments()
        self._segment = (segments[-1] + 1) if segments else max(self._checkpoint.segment, 1)
        self._fd = self._open_segment(self._segment)
        self._size = 0
        self._committed = Position(self._segment, 0)
        self._backlog = sum(self._segment_size(s) for s in segments) - self._checkpoint.offset
        self._pending: list[tuple[bytes, Future[Position]]] = []
        self._pending_bytes = 0
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._closed = False
        self.on_commit: list[threading.Event] = []
        self._writer = threading.Thread(target=self._write_loop, name="wal-writer", daemon=True)
        self._writer.start()

    # --- writing -------------------------------------------------------------------------

    def append(self, payload: bytes | Callable[[], bytes]) -> Future[Position]:
        """Queue a record; the future resolves once it is durable (or fails).

        A callable payload is built while the log is locked, so whatever it stamps into the
        record (an arrival time) follows the order of the log.
        """
        future: Future[Position] = Future()
        with self._lock:
            if self._closed:
                raise Overloaded("the log is closed: the server is shutting down")
            if self._backlog + self._pending_bytes >= self.max_backlog_bytes:
                raise Overloaded("the write-ahead log backlog is full")
            data = payload() if callable(payload) else payload
            if len(data) > _MAX_RECORD:
                raise ValueError(f"a log record is limited to {_MAX_RECORD} bytes")
            record = _HEADER.pack(_MAGIC, len(data), zlib.crc32(data)) + data
            self._pending.append((record, future))
            self._pending_bytes += len(record)
            self._wake.notify()
        return future

    def _write_loop(self) -> None:
        while True:
            with self._lock:
                while not self._pending and not self._closed:
                    self._wake.wait()
                if not self._pending and self._closed:
                    return
                batch, self._pending = self._pending, []
                self._pending_bytes = 0
            self._commit(batch)

    def _commit(self, batch: list[tuple[bytes, Future[Position]]]) -> None:
        data = b"".join(record for record, _ in batch)
        try:
            _write_all(self._fd, data)
            os.fdatasync(self._fd)
        except OSError as exc:
            log.error("write-ahead log: cannot write %d records: %s", len(batch), exc)
            for _, future in batch:
                future.set_exception(exc)
            return
        self._size += len(data)
        end = Position(self._segment, self._size)
        with self._lock:
            self._committed = end
            self._backlog += len(data)
            if self._size >= self._segment_bytes:
                os.close(self._fd)
                self._segment += 1
                self._fd = self._open_segment(self._segment)
                self._size = 0
                self._committed = Position(self._segment, 0)
        for _, future in batch:
            future.set_result(end)
        for event in self.on_commit:
            event.set()

    def _open_segment(self, number: int) -> int:
        path = self._segment_path(number)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        _fsync_dir(self._dir)
        return fd

    # --- reading and checkpoints -----------------------------------------------------------

    @property
    def checkpoint(self) -> Position:
        return self._checkpoint

    @property
    def committed(self) -> Position:
        with self._lock:
            return self._committed

    @property
    def backlog_bytes(self) -> int:
        with self._lock:
            return self._backlog + self._pending_bytes

    def read(self, start: Position, max_bytes: int) -> Iterator[tuple[Position, bytes]]:
        """Durable records after ``start``, each with the position just past it."""
        end = self.committed
        budget = max_bytes
        for number in self.segments():
            if number < start.segment or number > end.segment:
                continue
            offset = start.offset if number == start.segment else 0
            limit = end.offset if number == end.segment else None
            for position, payload in _records(self._segment_path(number), number, offset, limit):
                yield position, payload
                budget -= len(payload)
                if budget <= 0:
                    return

    def set_checkpoint(self, position: Position) -> None:
        """Everything before ``position`` is in the warehouse; drop what is no longer needed."""
        temporary = self._checkpoint_path.with_suffix(".tmp")
        with open(temporary, "w", encoding="ascii") as handle:
            handle.write(f"{position.segment} {position.offset}\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, self._checkpoint_path)
        _fsync_dir(self._dir)
        with self._lock:
            released = self._distance(self._checkpoint, position)
            self._checkpoint = position
            self._backlog = max(0, self._backlog - released)
            current = self._segment
        for number in self.segments():
            finished = number < position.segment or (
                number == position.segment and number < current and self._at_end(position)
            )
            if finished and number < current:
                self._segment_path(number).unlink(missing_ok=True)

    def _at_end(self, position: Position) -> bool:
        return position.offset >= self._segment_size(position.segment)

    def _distance(self, start: Position, end: Position) -> int:
        if start.segment == end.segment:
            return end.offset - start.offset
        total = self._segment_size(start.segment) - start.offset
        total += sum(self._segment_size(n) for n in range(start.segment + 1, end.segment))
        return total + end.offset

    def segments(self) -> list[int]:
        numbers = []
        for path in self._dir.glob("wal-*.log"):
            stem = path.stem.removeprefix("wal-")
            if stem.isdigit():
                numbers.append(int(stem))
        return sorted(numbers)

    def close(self) -> None:
        """Write what is queued, then stop the writer."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._wake.notify()
        self._writer.join()
        os.close(self._fd)

    # --- recovery --------------------------------------------------------------------------

    def _read_checkpoint(self) -> Position:
        try:
            segment, offset = self._checkpoint_path.read_text(encoding="ascii").split()
            return Position(int(segment), int(offset))
        except FileNotFoundError:
            return Position(0, 0)
        except ValueError:
            log.error("write-ahead log: unreadable checkpoint; replaying every segment")
            return Position(0, 0)

    def _repair_tail(self) -> None:
        """Cut a torn record off the end of each segment (it was never acknowledged)."""
        for number in self.segments():
            path = self._segment_path(number)
            good = 0
            for position, _ in _records(path, number, 0, None):
                good = position.offset
            if good < path.stat().st_size:
                log.warning(
                    "write-ahead log: cutting %d unacknowledged bytes off %s",
                    path.stat().st_size - good,
                    path.name,
                )
                with open(path, "r+b") as handle:
                    handle.truncate(good)
                    os.fsync(handle.fileno())

    def _segment_path(self, number: int) -> Path:
        return self._dir / f"wal-{number:012d}.log"

    def _segment_size(self, number: int) -> int:
        try:
            return self._segment_path(number).stat().st_size
        except FileNotFoundError:
            return 0


def _records(
    path: Path, number: int, offset: int, limit: int | None
) -> Iterator[tuple[Position, bytes]]:
    """Valid records of one segment from ``offset``; stops at the first damaged one."""
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed in finally, generator-safe
    except FileNotFoundError:
        return
    try:
        handle.seek(offset)
        while limit is None or offset < limit:
            header = handle.read(_HEADER.size)
            if len(header) < _HEADER.size:
                return
            magic, length, checksum = _HEADER.unpack(header)
            if magic != _MAGIC or length > _MAX_RECORD:
                return
            payload = handle.read(length)
            if len(payload) < length or zlib.crc32(payload) != checksum:
                return
            offset += _HEADER.size + length
            yield Position(number, offset), payload
    finally:
        handle.close()


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
