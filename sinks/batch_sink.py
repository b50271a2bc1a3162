"""Kafka -> ClickHouse: one consumer over the sink's topics, batches per topic-partition, offsets
committed only after the batch is stored.

One consumer rather than one per topic: chdb lets one process hold the data, and one client serves
every table anyway; a single poll loop keeps one group membership and no threads contending for
the client. Batching stays per topic-partition, the unit whose offsets are committed and whose
ranges are replayed (sinks/partition_batch.py); batches due together are stored in one round.

Order of a round (after quix-streams' sinks: flush, then commit): log the ranges, insert (each insert
carries its range's deduplication token), commit the offsets. A crash anywhere in between replays
the same ranges with the same tokens, and ClickHouse drops what it already holds. While ClickHouse
refuses writes, the partitions are paused (the consumer stays in its group) and the round is
retried with backoff; nothing read is let go until it is stored.

A round's inserts run on a writer thread while the loop reads and cuts the next round (chdb and
the HTTP client release the GIL while ClickHouse works): reading no longer waits for storing, and
storing no longer waits for reading. One round at most is in flight, and the loop stops reading
when the next round is full before it is done, so memory stays bounded. Commits and every Kafka
call stay on the loop's thread, in round order; the replay guard is updated by whichever thread
stores, batch after batch, so a later batch of the same partition in the same round sees the ids
of the earlier one.
"""
from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor

from confluent_kafka import Consumer, KafkaError, TopicPartition
from confluent_kafka.admin import AdminClient, OffsetSpec

from sinks.availability import Availability
from sinks.batch_log import log_ranges, logged_ranges
from sinks.clickhouse import LockedClient
from sinks.faults import KILL_AFTER_INSERT, FaultPoints
from sinks.metrics import SinkMetrics
from sinks.partition_batch import PartitionBatch, PartitionBatcher
from sinks.replay_guard import RecentEventIds
from sinks.store import BatchStore, StoredBatch, prepare_passthrough
from sinks.tables import Consumed, TableSpec, table_specs

log = logging.getLogger("creditstream.sink")

Key = tuple[str, int]
Entry = tuple[PartitionBatch, TableSpec, "RecentEventIds | None"]


class ClickHouseSink:
    def __init__(self, client, database: str, bootstrap_servers: str, group_id: str, batch_size: int,
                 batch_seconds: float, replay_window: int, specs: dict[str, TableSpec] | None = None,
                 metrics: SinkMetrics | None = None, faults: FaultPoints | None = None,
                 consumer_config: dict | None = None):
        # The writer thread and the loop (partition assignment) may both use the client.
        self.client = client if isinstance(client, LockedClient) else LockedClient(client)
        self.database = database
        self.specs = specs or table_specs()
        self.batch_size = batch_size
        self.batch_seconds = batch_seconds
        self.replay_window = replay_window
        self.metrics = metrics or SinkMetrics()
        self.faults = faults or FaultPoints(None)
        self.store = BatchStore(self.client, database, self.metrics)
        self.availability = Availability(self.metrics)
        config = {
            "bootstrap.servers": bootstrap_servers,
            "group.id": group_id,
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "isolation.level": "read_committed",
            "partition.assignment.strategy": "cooperative-sticky",
            "enable.partition.eof": True,
            # Read-ahead is bounded too, not only the batches: memory stays flat whatever the lag.
            # A batch is at most about 8 MB (20,000 records); 16 MB ahead keeps the writer fed.
            "fetch.max.bytes": 16777216,
            "queued.max.messages.kbytes": 16384,
            "log_level": 3,
            "on_commit": self._on_commit,
        }
        config.update(consumer_config or {})
        self.consumer = Consumer(config)
        self.batchers: dict[Key, PartitionBatcher] = {}
        self.guards: dict[Key, RecentEventIds] = {}
        self.unprepared: set[Key] = set()
        self.committed: dict[Key, int] = {}  # last committed offset of each prepared partition
        self.waiting: list[PartitionBatch] = []  # cut, not yet handed to the writer
        self.in_flight: tuple[Future, list[Entry]] | None = None
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sink-writer")
        self._admin = AdminClient({"bootstrap.servers": bootstrap_servers, "log_level": 3})
        self._lag_stop = threading.Event()
        self._lag_thread: threading.Thread | None = None

    # -- group membership --------------------------------------------------------------------
    def _on_assign(self, consumer, partitions) -> None:
        # Nothing may be read from a partition before its logged ranges and replay guard are
        # loaded (they decide how its first batches are cut and filtered): assign paused.
        consumer.incremental_assign(partitions)
        consumer.pause(partitions)
        self.unprepared.update((tp.topic, tp.partition) for tp in partitions)

    def _on_revoke(self, consumer, partitions) -> None:
        # What we hold for these partitions is not committed: the next owner reads it again and,
        # from the batch log, cuts it the same way. Dropping it here loses nothing.
        for tp in partitions:
            key = (tp.topic, tp.partition)
            self.batchers.pop(key, None)
            self.guards.pop(key, None)
            self.unprepared.discard(key)
            self.committed.pop(key, None)
            self.store.chain_heads.pop(key, None)
            try:
                self.metrics.lag.remove(tp.topic, str(tp.partition))
            except KeyError:
                pass

    def _prepare(self) -> None:
        """Load what the newly assigned partitions need, then let them be read. The Kafka part
        (where each partition resumes) works even while ClickHouse is down, so the lag shows."""
        keys = sorted(self.unprepared)
        missing = [TopicPartition(t, p) for t, p in keys if (t, p) not in self.committed]
        if missing:
            for tp in self.consumer.committed(missing, timeout=10):
                start = tp.offset
                if start < 0:  # nothing committed: reading starts at the log start
                    start = self.consumer.get_watermark_offsets(TopicPartition(tp.topic, tp.partition), timeout=10)[0]
                self.committed[(tp.topic, tp.partition)] = start
        for key in keys:
            topic, partition = key
            start = self.committed[key]
            spec = self.specs[topic]
            planned = logged_ranges(self.client, self.database, topic, partition, start)
            if planned:
                log.info("%s-%s: replaying %d logged batch range(s) from offset %s", topic, partition,
                         len(planned), start)
            if spec.chained:
                self.store.load_chain_head(spec, partition, start)
            if spec.event_ids and self.replay_window > 0:
                guard = RecentEventIds(self.replay_window)
                guard.load(self.client, self.database, spec.table, topic, partition, start, spec.id_column)
                self.guards[key] = guard
            self.batchers[key] = PartitionBatcher(topic, partition, self.batch_size, self.batch_seconds, planned)
            self.unprepared.discard(key)
            self.consumer.resume([TopicPartition(topic, partition)])

    def _update_lag(self, timeout: float = 5.0) -> None:
        """Lag = high watermark - committed offset, asked of the broker: the watermark cached from
        fetches goes stale exactly when lag matters, while the partitions are paused for an outage.
        One ListOffsets request for every partition, off the loop's thread: asking partition by
        partition on the loop stalled reading (and so every record's visibility) on a busy broker."""
        committed = dict(self.committed)
        if not committed:
            return
        futures = self._admin.list_offsets({TopicPartition(t, p): OffsetSpec.latest() for t, p in committed},
                                           request_timeout=timeout)
        for tp, future in futures.items():
            try:
                high = future.result(timeout=timeout).offset
            except Exception:
                continue
            offset = committed[(tp.topic, tp.partition)]
            if high >= 0 and offset >= 0:
                self.metrics.lag.labels(tp.topic, str(tp.partition)).set(max(high - offset, 0))

    def _lag_loop(self, every: float = 5.0) -> None:
        while not self._lag_stop.wait(every):
            try:
                self._update_lag()
            except Exception as exc:  # the broker away: the gauge keeps its last value
                log.debug("lag update failed: %s", exc)

    # -- the loop -------------------------------------------------------------------------------
    def run(self, should_stop=lambda: False, stop_timeout: float = 10.0) -> None:
        self.consumer.subscribe(list(self.specs), on_assign=self._on_assign, on_revoke=self._on_revoke,
                                on_lost=self._on_revoke)
        self._lag_thread = threading.Thread(target=self._lag_loop, name="sink-lag", daemon=True)
        self._lag_thread.start()
        try:
            while not should_stop():
                self.poll_once()
            self.store_all(deadline=time.monotonic() + stop_timeout)
        finally:
            self._lag_stop.set()
            self._writer.shutdown(wait=True)
            self.consumer.close()

    def poll_once(self, timeout: float = 0.2) -> None:
        if self.unprepared:
            try:
                self._prepare()
                self.availability.succeeded()
            except Exception as exc:
                self._wait(self.availability.failed(exc))
                return
        at_end: set[Key] = set()
        batchers, new_consumed = self.batchers, tuple.__new__
        current_key, add = None, None  # messages come in runs of one partition: look up per run
        # At most a batch per read: a partition then holds at most a batch being stored, one cut and
        # waiting, and one filling, so memory is bounded by the batch size, whatever the lag.
        for msg in self.consumer.consume(num_messages=min(10000, self.batch_size), timeout=timeout):
            err = msg.error()
            if err is not None:
                if err.code() == KafkaError._PARTITION_EOF:
                    at_end.add((msg.topic(), msg.partition()))
                else:
                    log.warning("consumer error: %s", err)
                continue
            key = (msg.topic(), msg.partition())
            if key != current_key:
                batcher = batchers.get(key)
                current_key, add = key, batcher.add if batcher is not None else None
            if add is not None:  # else revoked meanwhile: the next owner reads it
                add(new_consumed(Consumed, (msg.offset(), msg.key(), msg.value(), msg.timestamp()[1])))
        now = time.monotonic()
        for key, batcher in self.batchers.items():
            batcher.cut_due(now, at_end=key in at_end)
        for batcher in self.batchers.values():
            for batch in batcher.take_closed():
                spec = self.specs[batch.topic]
                if spec.passthrough:  # parse now, while the writer inserts the previous round
                    batch.prepared = prepare_passthrough(batch, spec)
                self.waiting.append(batch)
        self.metrics.buffered.set(self._held())
        if self.in_flight is not None and (self.in_flight[0].done() or self._round_full()):
            self._finish_in_flight()  # waits when the next round is full before this one is stored
        if self.waiting and self.in_flight is None:
            entries = self._entries(self.waiting)
            self.waiting = []
            self.in_flight = (self._writer.submit(self._write_round, entries), entries)

    def _round_full(self) -> bool:
        """The next round waits for more while each partition has at most one batch in it, and
        not every partition has one: fuller rounds, and still at most one batch per partition
        being stored, one waiting and one filling."""
        partitions = {(b.topic, b.partition) for b in self.waiting}
        return len(partitions) < len(self.waiting) or len(partitions) >= len(self.batchers)

    def _held(self) -> int:
        in_flight = sum(len(b) for b, _, _ in self.in_flight[1]) if self.in_flight else 0
        return in_flight + sum(len(b) for b in self.waiting) + sum(b.pending_rows() for b in self.batchers.values())

    def store_all(self, deadline: float | None = None) -> bool:
        """Store everything read so far (shutdown). Gives up at ``deadline``: the rest is not
        committed, so the next start reads it again."""
        if self.in_flight is not None:
            self._finish_in_flight(deadline)
        for batcher in self.batchers.values():
            batcher.close_open()
        due = self.waiting + [batch for batcher in self.batchers.values() for batch in batcher.take_closed()]
        self.waiting = []
        stored = self._store_until_done(due, deadline) if due else True
        # Commits are asynchronous; before leaving, make sure the last ones landed.
        offsets = [TopicPartition(t, p, o) for (t, p), o in self.committed.items() if (t, p) in self.batchers]
        if offsets:
            try:
                self.consumer.commit(offsets=offsets, asynchronous=False)
            except Exception as exc:
                log.warning("final offset commit failed (the next start re-reads, deduplicated): %s", exc)
        return stored

    # -- storing ------------------------------------------------------------------------------
    def _entries(self, batches: list[PartitionBatch]) -> list[Entry]:
        return [(b, self.specs[b.topic], self.guards.get((b.topic, b.partition))) for b in batches]

    def _write_round(self, entries: list[Entry]) -> list[StoredBatch]:
        """Log the ranges, then insert: no Kafka call here (it may run on the writer thread)."""
        log_ranges(self.client, self.database, [b for b, _, _ in entries])
        results = []
        for batch, spec, guard in entries:
            result = self.store.store(batch, spec, guard)
            if guard is not None:  # the next batch of this partition, in this round too, must see them
                guard.add_many(result.stored_ids, result.stored_offsets)
            results.append(result)
        return results

    def _finish_in_flight(self, deadline: float | None = None) -> None:
        future, entries = self.in_flight
        self.in_flight = None
        try:
            results = future.result()
        except Exception as exc:
            self._wait(self.availability.failed(exc))
            # Same ranges again, same tokens: whatever the failed attempt stored is not doubled.
            self._store_until_done([b for b, _, _ in entries if (b.topic, b.partition) in self.batchers], deadline)
            return
        self._complete_round(entries, results)
        self.availability.succeeded()

    def _store_until_done(self, batches: list[PartitionBatch], deadline: float | None = None) -> bool:
        while batches:
            try:
                entries = self._entries(batches)
                self._complete_round(entries, self._write_round(entries))
                self.availability.succeeded()
                return True
            except Exception as exc:
                delay = self.availability.failed(exc)
                if deadline is not None and time.monotonic() + delay > deadline:
                    log.warning("stopping with %d batch(es) unstored; they are not committed and will be read "
                                "again", len(batches))
                    return False
                self._wait(delay)
                # Partitions revoked while waiting belong to another member now.
                batches = [b for b in batches if (b.topic, b.partition) in self.batchers]
        return True

    def _complete_round(self, entries: list[Entry], results: list[StoredBatch]) -> None:
        """After the inserts: commit, then remember the stored ids and count."""
        self.faults.crash_point(KILL_AFTER_INSERT)
        self._commit([b for b, _, _ in entries])
        for (batch, spec, _), result in zip(entries, results):
            self.metrics.batch_rows.labels(spec.table).observe(len(batch))
            for table, n in result.rows.items():
                self.metrics.rows_stored.labels(table).inc(n)
            for table, n in result.dropped.items():
                if n:
                    self.metrics.replays_dropped.labels(table).inc(n)
            if result.undecodable:
                log.error("%d undecodable message(s) on %s-%s stored as rejections", result.undecodable,
                          batch.topic, batch.partition)
                self.metrics.undecodable.labels(batch.topic).inc(result.undecodable)

    def _commit(self, batches: list[PartitionBatch]) -> None:
        offsets = {}
        for batch in batches:
            key = (batch.topic, batch.partition)
            offsets[key] = max(offsets.get(key, 0), batch.next_offset)
        # Asynchronous: the rows are stored already, and a commit that never lands only means the
        # next owner reads the range again and ClickHouse drops it (same range, same token).
        # librdkafka sends commits in order, so a later one never goes back behind an earlier one.
        try:
            self.consumer.commit(offsets=[TopicPartition(t, p, o) for (t, p), o in offsets.items()],
                                 asynchronous=True)
            for key, offset in offsets.items():
                if key in self.committed:
                    self.committed[key] = offset
        except Exception as exc:  # e.g. revoked meanwhile: stored anyway; a re-read replays the same ranges
            log.warning("offset commit failed (the rows are stored; a re-read is deduplicated): %s", exc)

    @staticmethod
    def _on_commit(err, _partitions) -> None:
        if err is not None and err.code() != KafkaError._NO_OFFSET:
            log.warning("offset commit failed (the rows are stored; a re-read is deduplicated): %s", err)

    def _wait(self, seconds: float) -> None:
        """Wait with every partition paused, polling so the consumer keeps its group membership."""
        assignment = [tp for tp in self.consumer.assignment() if (tp.topic, tp.partition) not in self.unprepared]
        if assignment:
            self.consumer.pause(assignment)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            for msg in self.consumer.consume(num_messages=100, timeout=0.1):
                # Paused partitions return nothing; keep anything that comes anyway.
                batcher = self.batchers.get((msg.topic(), msg.partition()))
                if msg.error() is None and batcher is not None:
                    batcher.add(Consumed(msg.offset(), msg.key(), msg.value(), msg.timestamp()[1]))
        still = [tp for tp in assignment if (tp.topic, tp.partition) in self.batchers]
        if still:
            self.consumer.resume(still)
