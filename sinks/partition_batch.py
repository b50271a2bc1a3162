"""Batches per topic-partition, cut by size or age, or at offsets logged by an earlier run.

A batch is the unit of storing and of committing: its messages are inserted with a deduplication
token named after its offset range, then its offsets are committed. If the process dies between
the two, the next run must cut exactly the same range again, or the token would differ and the
replay would be stored twice. Size and age cuts depend on timing, so each range is logged
before its insert (sinks/batch_log.py); the next run replays logged ranges as planned cuts.
Pure logic: no Kafka, no ClickHouse.
"""
from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field

from sinks.tables import Consumed


@dataclass
class PartitionBatch:
    topic: str
    partition: int
    messages: list[Consumed] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)
    planned: tuple[int, int] | None = None  # the logged range this batch replays, if any
    prepared: object | None = None  # parsed ahead of storing (sinks/store.py, pass-through)
    chain: list | None = None  # (prev_hash, hash) per row, kept so that a retried batch links the same

    @property
    def planned_last(self) -> int | None:
        return self.planned[1] if self.planned else None

    @property
    def first_offset(self) -> int:
        return self.messages[0].offset

    @property
    def last_offset(self) -> int:
        return self.messages[-1].offset

    @property
    def next_offset(self) -> int:
        """The offset to commit once this batch is stored."""
        return self.last_offset + 1

    def add(self, msg: Consumed) -> None:
        if not self.messages:
            self.started = time.monotonic()
        self.messages.append(msg)

    def __len__(self) -> int:
        return len(self.messages)

    @property
    def offset_range(self) -> tuple[int, int]:
        """The range logged and named in the token: a replay keeps the logged one even when
        compaction has removed some of its messages since."""
        return self.planned or (self.first_offset, self.last_offset)

    def token(self, suffix: str) -> str:
        """The insert deduplication token: the same range always gets the same token."""
        first, last = self.offset_range
        return f"{self.topic}:{self.partition}:{first}-{last}:{suffix}"


class PartitionBatcher:
    """Builds the batches of one partition and says when one is due."""

    def __init__(self, topic: str, partition: int, max_rows: int, max_seconds: float,
                 planned: list[tuple[int, int]] | None = None):
        self.topic = topic
        self.partition = partition
        self.max_rows = max_rows
        self.max_seconds = max_seconds
        self.planned: deque[tuple[int, int]] = deque(sorted(planned or []))
        self.current = PartitionBatch(topic, partition)
        self.closed: list[PartitionBatch] = []  # cut, waiting to be stored

    def _close_current(self) -> None:
        if self.current.messages:
            self.closed.append(self.current)
        self.current = PartitionBatch(self.topic, self.partition)

    def _drop_planned_before(self, offset: int) -> None:
        # A logged range wholly before this offset has nothing left to replay (compacted away, or
        # committed after all).
        while self.planned and self.planned[0][1] < offset:
            self.planned.popleft()

    def add(self, msg: Consumed) -> None:
        if not self.planned:  # no logged range ahead: the hot path
            batch = self.current
            if batch.messages:
                batch.messages.append(msg)
            else:
                batch.add(msg)
            if len(batch.messages) >= self.max_rows:
                self._close_current()
            return
        self._drop_planned_before(msg.offset)
        batch = self.current
        if batch.messages:
            if batch.planned_last is not None and msg.offset > batch.planned_last:
                self._close_current()
            elif batch.planned_last is None and self.planned and self.planned[0][0] <= msg.offset:
                # Never let a free batch run into a logged range.
                self._close_current()
        batch = self.current
        if not batch.messages and self.planned and self.planned[0][0] <= msg.offset <= self.planned[0][1]:
            batch.planned = self.planned[0]
        batch.add(msg)
        if batch.planned_last is not None:
            if msg.offset >= batch.planned_last:
                self.planned.popleft()
                self._close_current()
        elif len(batch) >= self.max_rows:
            self._close_current()

    def cut_due(self, now: float | None = None, at_end: bool = False) -> None:
        """Close the current batch when it is old enough. A batch replaying a logged range waits for
        its last offset, unless the partition has nothing more to give (``at_end``)."""
        batch = self.current
        if not batch.messages:
            return
        if batch.planned_last is not None:
            if at_end:
                if self.planned and self.planned[0] == batch.planned:
                    self.planned.popleft()
                self._close_current()
            return
        if (now if now is not None else time.monotonic()) - batch.started >= self.max_seconds:
            self._close_current()

    def take_closed(self) -> list[PartitionBatch]:
        closed, self.closed = self.closed, []
        return closed

    def pending_rows(self) -> int:
        return len(self.current) + sum(len(b) for b in self.closed)

    def close_open(self) -> None:
        """Close the open batch (shutdown). A replay still short of its logged last offset is
        dropped instead: it was never complete, and the next run replays the logged range."""
        if self.current.planned_last is None:
            self._close_current()
        else:
            self.current = PartitionBatch(self.topic, self.partition)
