"""Drops an event published again at a later offset of the same partition (an upstream worker that
restarts re-publishes its last outputs; a unit re-sends a file and the worker lets it through).

The sink's own replays (same offsets) are handled by insert deduplication tokens. This guard is for
the same event id at a *new* offset. It must give the same answer when a batch is retried, or
the retried insert would differ from the first under the same token. So it only looks at rows
stored at earlier offsets of the same partition, within a fixed window of offsets, and it is
rebuilt from ClickHouse at assignment with exactly that rule: the same event id always comes on
the same partition (the worker keys records by subject and rejections by event id).

The ids live in memory (a bounded window per partition) rather than in a query per batch: the
measured query cost at 1.56 M stored rows was larger than the insert it guarded (sinks/README.md).
"""
from __future__ import annotations

from collections import deque


class RecentEventIds:
    """The event ids stored at offsets [start - window, start) of one topic-partition."""

    def __init__(self, window: int):
        self.window = window
        self._order: deque[tuple[int, str]] = deque()
        self._ids: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, event_id: str) -> bool:
        return event_id in self._ids

    def add(self, offset: int, event_id: str) -> None:
        if event_id not in self._ids:
            self._ids[event_id] = offset
            self._order.append((offset, event_id))

    def add_all(self, stored: list[tuple[int, str]]) -> None:
        ids, order = self._ids, self._order
        for offset, event_id in stored:
            if event_id not in ids:
                ids[event_id] = offset
                order.append((offset, event_id))

    def advance_to(self, start: int) -> None:
        """Forget what is older than the window seen from a batch starting at ``start``."""
        floor = start - self.window
        while self._order and self._order[0][0] < floor:
            _, event_id = self._order.popleft()
            del self._ids[event_id]

    def load(self, client, database: str, table: str, topic: str, partition: int, start: int) -> None:
        """Rebuild from what the table holds, exactly as the process that stored it would hold it."""
        self._order.clear()
        self._ids.clear()
        if self.window <= 0 or start <= 0:
            return
        rows = client.query(
            f"SELECT kafka_offset, event_id FROM {database}.{table} "
            "WHERE kafka_topic = {topic:String} AND kafka_partition = {partition:UInt16} "
            "AND kafka_offset >= {floor:UInt64} AND kafka_offset < {start:UInt64} ORDER BY kafka_offset",
            parameters={"topic": topic, "partition": partition, "floor": max(start - self.window, 0),
                        "start": start}).result_rows
        for offset, event_id in rows:
            self.add(int(offset), event_id)


def first_seen(entries, seen: RecentEventIds | None):
    """Split (event_id, item) pairs into the items to store and the number dropped: an id already
    stored in the window, or earlier in the same batch, is dropped. Keeps the first of each id."""
    fresh, batch_ids, dropped = [], set(), 0
    for event_id, item in entries:
        if event_id in batch_ids or (seen is not None and event_id in seen):
            dropped += 1
            continue
        batch_ids.add(event_id)
        fresh.append((event_id, item))
    return fresh, dropped
