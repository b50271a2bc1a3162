"""Kafka -> ClickHouse: a batch consumer per sink process, one insert per table per batch,
offsets committed only after the inserts succeeded.

Exactly-once effect: every row carries its event id, and before an insert the sink drops the
event ids the table already holds (within a window). So a batch retried after a crash, a partial
insert, or an output the worker published twice is stored once.
"""
from __future__ import annotations

import logging
import time
from collections import defaultdict
from dataclasses import dataclass, field

from confluent_kafka import Consumer, KafkaError, TopicPartition

from sinks.tables import TableSpec, UndecodableMessage, table_specs, undecodable_row

log = logging.getLogger("creditstream.sink")


@dataclass
class Batch:
    rows: dict[str, list[list]] = field(default_factory=lambda: defaultdict(list))
    offsets: dict[tuple[str, int], int] = field(default_factory=dict)  # next offset to commit
    size: int = 0
    started: float = field(default_factory=time.monotonic)


class ClickHouseSink:
    def __init__(self, client, database: str, bootstrap_servers: str, group_id: str,
                 batch_size: int, batch_seconds: float, dedup_window_hours: int,
                 specs: dict[str, TableSpec] | None = None):
        self.client = client
        self.database = database
        self.specs = specs or table_specs()
        self.batch_size = batch_size
        self.batch_seconds = batch_seconds
        self.dedup_window_hours = dedup_window_hours
        self.consumer = Consumer({
            "bootstrap.servers": bootstrap_servers,
            "group.id": group_id,
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "isolation.level": "read_committed",
            "partition.assignment.strategy": "cooperative-sticky",
            "fetch.max.bytes": 52428800,
            "log_level": 3,
        })
        self.batch = Batch()
        self.stored: dict[str, int] = defaultdict(int)
        self.replays_dropped: dict[str, int] = defaultdict(int)
        self.unavailable_since: float | None = None
        self._stopping = False

    # -- consuming ------------------------------------------------------------------------
    def _on_revoke(self, consumer, partitions) -> None:
        # Store what we hold for these partitions before another member takes them over.
        if self.batch.size:
            self.flush()

    def run(self, should_stop=lambda: False) -> None:
        self.consumer.subscribe(list(self.specs), on_revoke=self._on_revoke)
        try:
            while not should_stop():
                self.poll_once()
            self.flush()
        finally:
            self.consumer.close()

    def poll_once(self, timeout: float = 0.2) -> None:
        messages = self.consumer.consume(num_messages=min(self.batch_size, 10000), timeout=timeout)
        for msg in messages:
            err = msg.error()
            if err is not None:
                if err.code() != KafkaError._PARTITION_EOF:
                    log.warning("consumer error: %s", err)
                continue
            self._add(msg)
        if self.batch.size >= self.batch_size or (
                self.batch.size and time.monotonic() - self.batch.started >= self.batch_seconds):
            self.flush()

    def _add(self, msg) -> None:
        spec = self.specs[msg.topic()]
        try:
            row = spec.to_row(spec.decode(msg.value()))
            table = spec.table
        except (UndecodableMessage, KeyError, TypeError) as exc:
            log.error("undecodable message on %s-%s@%s: %s", msg.topic(), msg.partition(), msg.offset(), exc)
            row = undecodable_row(msg.topic(), msg.partition(), msg.offset(), str(exc))
            table = "rejections"
        row.append(msg.partition())
        row.append(msg.offset())
        self.batch.rows[table].append(row)
        self.batch.offsets[(msg.topic(), msg.partition())] = msg.offset() + 1
        self.batch.size += 1

    # -- storing --------------------------------------------------------------------------
    def _known_event_ids(self, table: str, ids: list[str]) -> set[str]:
        result = self.client.query(
            f"SELECT event_id FROM {self.database}.{table} "
            f"WHERE ingested_at >= now64(3) - INTERVAL {int(self.dedup_window_hours)} HOUR "
            "AND event_id IN %(ids)s",
            parameters={"ids": ids})
        return {r[0] for r in result.result_rows}

    def _columns_for(self, table: str) -> list[str]:
        for spec in self.specs.values():
            if spec.table == table:
                return spec.insert_columns
        raise KeyError(table)

    def _store(self, table: str, rows: list[list]) -> int:
        unique: dict[str, list] = {}
        for row in rows:
            unique.setdefault(row[0], row)  # event_id is the first column of every table
        known = self._known_event_ids(table, list(unique))
        fresh = [row for eid, row in unique.items() if eid not in known]
        self.replays_dropped[table] += len(rows) - len(fresh)
        if fresh:
            self.client.insert(f"{self.database}.{table}", fresh, column_names=self._columns_for(table))
        self.stored[table] += len(fresh)
        return len(fresh)

    def flush(self) -> None:
        """Insert the batch, then commit its offsets. Retries with backoff while ClickHouse is
        unavailable, keeping the consumer paused (and in its group) meanwhile."""
        if not self.batch.size:
            return
        delay = 0.5
        while True:
            try:
                for table, rows in self.batch.rows.items():
                    self._store(table, rows)
                break
            except Exception as exc:
                if self.unavailable_since is None:
                    self.unavailable_since = time.monotonic()
                    log.error("ClickHouse insert failed, retrying until it succeeds: %s", exc)
                self._wait_paused(delay)
                delay = min(delay * 2, 10.0)
        if self.unavailable_since is not None:
            log.warning("ClickHouse is back after %.1f s", time.monotonic() - self.unavailable_since)
            self.unavailable_since = None
        offsets = [TopicPartition(t, p, o) for (t, p), o in self.batch.offsets.items()]
        try:
            self.consumer.commit(offsets=offsets, asynchronous=False)
        except Exception as exc:  # e.g. the partitions were revoked: the next owner re-reads, dedup drops
            log.warning("offset commit failed (rows are stored; a re-read will be dropped): %s", exc)
        self.batch = Batch()

    def _wait_paused(self, seconds: float) -> None:
        assignment = self.consumer.assignment()
        if assignment:
            self.consumer.pause(assignment)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            # Keeps the group membership alive. Paused partitions return nothing, but a partition
            # assigned meanwhile may: keep what it returns.
            msg = self.consumer.poll(0.1)
            if msg is not None and msg.error() is None:
                self._add(msg)
        if assignment:
            self.consumer.resume(assignment)
