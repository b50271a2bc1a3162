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


class RecentEventIds:
    """The event ids stored at offsets [start - window, start) of one topic-partition, where start is
    the first offset of the batch being stored (``advance_to``)."""

    def __init__(self, window: int):
        self.window = window
        self.floor = 0          # ids stored at offsets in [floor, ceiling) count
        self.ceiling = 0
        self._ids: dict[str, int] = {}  # id -> offset it was stored at

    @property
    def stored_at(self) -> dict[str, int]:
        """id -> offset; an id counts only in [floor, ceiling) (for loops that inline the check)."""
        return self._ids

    def __len__(self) -> int:
        return sum(1 for offset in self._ids.values() if self.floor <= offset < self.ceiling)

    def __contains__(self, event_id: str) -> bool:
        offset = self._ids.get(event_id)
        return offset is not None and self.floor <= offset < self.ceiling

    def add(self, offset: int, event_id: str) -> None:
        self._ids[event_id] = offset

    def add_all(self, stored: list[tuple[int, str]]) -> None:
        self._ids.update((event_id, offset) for offset, event_id in stored)

    def add_many(self, event_ids: list[str], offsets: list[int]) -> None:
        """Ids just stored, in offset order: a later store of an id outside the window replaces it."""
        self._ids.update(zip(event_ids, offsets))

    def advance_to(self, start: int) -> None:
        """Look from a batch starting at ``start``: only ids stored before it, within the window,
        count. Its own ids do not, even when a retry finds them stored already: the retry must
        build the same insert as the first attempt (ClickHouse drops it by its token). Exact by
        offset; the memory is given back in one sweep once the dict holds twice the window."""
        self.floor, self.ceiling = start - self.window, start
        if len(self._ids) > 2 * self.window + 1024:
            floor = self.floor
            self._ids = {e: o for e, o in self._ids.items() if o >= floor}

    def load(self, client, database: str, table: str, topic: str, partition: int, start: int,
             column: str = "event_id") -> None:
        """Rebuild from what the table holds (its ids in ``column``), exactly as the process that
        stored it would hold it."""
        self._ids.clear()
        self.floor, self.ceiling = start - self.window, start
        if self.window <= 0 or start <= 0:
            return
        rows = client.query(
            f"SELECT kafka_offset, {column} FROM {database}.{table} "
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
