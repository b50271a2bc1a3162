"""The hot loop: consume credit.inbound in batches, process them, and publish the outputs, the
table changes and the consumer offsets in one Kafka transaction per batch.

Why not a faust agent: faust spends about 130 µs on every event before our code runs
(RUNTIME.md), which caps a worker near 6-8 k events/s whatever the agent does. Here a batch of
thousands of messages costs one consume call, one transaction and one offset commit, and the
per-event work is only decode, rules, encode and produce. The faust app hosts this loop (see
app.py): it starts it, stops it, and serves its metrics.

Exactly once, not "at least once plus dedup": outputs, table changelogs and offsets commit
together or not at all. A worker killed mid-batch leaves an open transaction that the broker
aborts when the restarted worker (same transactional id) initialises; readers of our topics use
isolation.level=read_committed (the sink does), so they never see the aborted outputs, and the
restarted worker reads the batch again from the committed offsets with the tables restored from
their committed changelogs.
"""
from __future__ import annotations

import logging
import os
import socket
import threading
import time

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, Producer, TopicPartition

from creditstream.domain.catalog import UnitCatalog
from creditstream.settings import Settings
from creditstream.topics import INBOUND, ensure_topics, topic_specs
from stream_apps import metrics
from creditstream.keys import KeyRing
from stream_apps.processing import BatchProcessor, BatchStats, InboundMessage
from stream_apps.tables import StreamTables

log = logging.getLogger("creditstream.stream")


def instance_id(settings: Settings) -> str:
    """Stable across restarts of the same worker (so its transactional id fences its previous
    life at once, and its static group membership keeps its partitions), distinct between
    workers: host name and web port."""
    return f"{settings.worker_app_id}-{socket.gethostname()}-{settings.worker_web_port}"


class StreamPipeline:
    def __init__(self, settings: Settings, catalog: UnitCatalog | None = None, clock_offset_days: int = 0,
                 batch_size: int | None = None, poll_timeout: float = 0.1, group_id: str | None = None,
                 source_topic: str = INBOUND):
        self.settings = settings
        self.tables = StreamTables()
        self.processor = BatchProcessor(self.tables, catalog, clock_offset_days,
                                        pseudonyms=KeyRing.for_settings(settings).current)
        self.batch_size = batch_size or max(settings.worker_batch_size, 1)
        self.poll_timeout = poll_timeout
        # Not the app id itself: faust's own consumer joins that group (with its own protocol).
        self.group_id = group_id or f"{settings.worker_app_id}.pipeline"
        self.source_topic = source_topic
        self.instance = instance_id(settings)
        self._stop = threading.Event()
        self._in_transaction_since: float | None = None  # for the watchdog
        self.stall_seconds = settings.worker_stall_seconds
        self._assigned: set[int] = set()
        self._swept_day: int | None = None
        self.ready = threading.Event()  # set once partitions are assigned and restored
        self.processed = 0

    # -- set-up ---------------------------------------------------------------------------------
    def _consumer(self) -> Consumer:
        return Consumer({
            "bootstrap.servers": self.settings.bootstrap_servers,
            "group.id": self.group_id,
            "group.instance.id": self.instance,
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "isolation.level": "read_committed",
            "session.timeout.ms": 10000,
            # Read-ahead bounded: a backlog of millions waits in Kafka, not in this process. A
            # batch is about 2 MB; 8 MB ahead keeps the loop fed at the same rate, and measured
            # 120 MB less peak RSS than librdkafka's 50 MB fetches into a 32 MB queue.
            "fetch.max.bytes": 8388608,
            "max.partition.fetch.bytes": 2097152,
            "queued.max.messages.kbytes": 8192,
            "log_level": 3,
        })

    def _producer(self) -> Producer:
        return Producer({
            "bootstrap.servers": self.settings.bootstrap_servers,
            "transactional.id": self.instance,
            "enable.idempotence": True,
            # A worker that dies keeps readers (read_committed) waiting until its transaction
            # times out, unless it restarts sooner: keep the wait short.
            "transaction.timeout.ms": 15000,
            "linger.ms": 5,
            "batch.num.messages": 10000,
            "queue.buffering.max.messages": 1000000,
            "queue.buffering.max.kbytes": 262144,
            "log_level": 3,
        })

    def _restore(self, partitions: list[int]) -> None:
        """Each table's changelog partitions, read from the start to their committed end."""
        reader = Consumer({"bootstrap.servers": self.settings.bootstrap_servers, "group.id": f"{self.group_id}-restore",
                           "enable.auto.commit": False, "isolation.level": "read_committed", "log_level": 3})
        try:
            for topic, table in self.tables.by_topic().items():
                table.drop(partitions)
                ends = {}
                for p in partitions:
                    low, high = reader.get_watermark_offsets(TopicPartition(topic, p), timeout=30)
                    if high > low:
                        ends[p] = high
                if not ends:
                    continue
                reader.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in ends])
                remaining = dict(ends)
                while remaining:
                    for msg in reader.consume(10000, timeout=1.0):
                        if msg.error():
                            if msg.error().code() != KafkaError._PARTITION_EOF:
                                raise KafkaException(msg.error())
                            continue
                        table.load(msg.partition(), msg.key(), msg.value())
                    for p in list(remaining):
                        # The position passes the end once the last record (or the last
                        # transaction marker after it) has been read.
                        position = reader.position([TopicPartition(topic, p)])[0].offset
                        if position >= remaining[p]:
                            del remaining[p]
                reader.unassign()
                log.info("restored %s partitions %s: %d keys", table.name, sorted(ends), len(table))
        finally:
            reader.close()

    def _on_assign(self, consumer, partitions) -> None:
        numbers = [tp.partition for tp in partitions]
        self._restore(numbers)
        self._assigned.update(numbers)
        self._swept_day = None  # sweep the restored lists before the first batch
        metrics.ASSIGNED.set(len(self._assigned))
        metrics.count_listed(self.tables.subject_to_list_state)
        log.info("assigned inbound partitions %s", sorted(self._assigned))
        self.ready.set()

    def _on_revoke(self, consumer, partitions) -> None:
        numbers = [tp.partition for tp in partitions]
        self.tables.drop(numbers)
        self._assigned.difference_update(numbers)
        metrics.ASSIGNED.set(len(self._assigned))
        metrics.count_listed(self.tables.subject_to_list_state)
        log.info("revoked inbound partitions %s", numbers)

    # -- the loop -------------------------------------------------------------------------------
    def stop(self) -> None:
        self._stop.set()

    def _watchdog(self) -> None:
        """Exit the process when one transaction has been under way far longer than its own
        timeouts allow. librdkafka can block in send_offsets_to_transaction for good once the
        group coordinator's broker restarted (librdkafka issue 5511); a call stuck in C cannot be
        interrupted, and a live worker that moves nothing is worse than a dead one: its
        supervisor (compose's restart policy, `creditstream up`) starts it again, and the open
        transaction is aborted when the new one initialises with the same transactional id."""
        while not self._stop.wait(5.0):
            since = self._in_transaction_since
            if since is not None and time.monotonic() - since > self.stall_seconds:
                log.error("a transaction has been under way for %.0f s (stuck broker call): exiting so that the "
                          "worker is restarted; nothing committed is lost, the open transaction is aborted",
                          time.monotonic() - since)
                logging.shutdown()
                os._exit(70)

    def run(self) -> None:
        ensure_topics(self.settings.bootstrap_servers,
                      topic_specs(self.settings.topic_partitions, self.settings.topic_replication, self.settings.inbound_retention_days))
        threading.Thread(target=self._watchdog, name="stream-watchdog", daemon=True).start()
        producer = self._producer()
        producer.init_transactions(30)
        consumer = self._consumer()
        consumer.subscribe([self.source_topic], on_assign=self._on_assign, on_revoke=self._on_revoke,
                           on_lost=self._on_revoke)
        log.info("stream worker %s consuming %s", self.instance, self.source_topic)
        try:
            while not self._stop.is_set():
                messages = consumer.consume(self.batch_size, timeout=self.poll_timeout)
                batch = []
                for msg in messages:
                    if msg.error():
                        if msg.error().code() != KafkaError._PARTITION_EOF:
                            log.warning("consumer error: %s", msg.error())
                        continue
                    batch.append(msg)
                sweep = self._sweep_due()
                if batch or sweep:
                    self._transact(producer, consumer, batch, sweep)
        finally:
            consumer.close()  # leaves the group; open transactions were committed or aborted
            producer.flush(10)

    def _sweep_due(self) -> bool:
        today = int((time.time() + self.processor.clock_offset.total_seconds() + 8 * 3600) // 86400)
        if self._assigned and self._swept_day != today:
            self._swept_day = today
            return True
        return False

    def _transact(self, producer: Producer, consumer: Consumer, batch: list, sweep: bool) -> None:
        started = time.monotonic()
        stats = BatchStats()
        inbound = [InboundMessage(m.topic(), m.partition(), m.offset(), m.value(), m.timestamp()[1]) for m in batch]
        self._in_transaction_since = started
        try:
            self._transact_steps(producer, consumer, batch, sweep, inbound, stats, started)
        finally:
            self._in_transaction_since = None

    def _transact_steps(self, producer, consumer, batch, sweep, inbound, stats, started) -> None:
        producer.begin_transaction()
        try:
            outputs = self.processor.sweep(sorted(self._assigned)) if sweep else []
            outputs += self.processor.process(inbound, stats=stats)
            produce = producer.produce
            for topic, key, value in outputs:
                try:  # the common case inline: a call less per output
                    produce(topic, value=value, key=key)
                except BufferError:
                    self._produce(producer, produce, topic, key, value, None)
            for table in self.tables.all:
                for partition, key, value in table.changes():
                    self._produce(producer, produce, table.topic, key, value, partition)
            if batch:
                positions = {}
                for m in inbound:
                    positions[(m.topic, m.partition)] = m.offset + 1
                offsets = [TopicPartition(t, p, o) for (t, p), o in positions.items()]
                producer.send_offsets_to_transaction(offsets, consumer.consumer_group_metadata(), 30)
            producer.commit_transaction(60)
        except KafkaException as exc:
            self.tables.abort()
            error = exc.args[0] if exc.args else None
            if error is not None and getattr(error, "txn_requires_abort", lambda: False)():
                producer.abort_transaction(30)
                self._rewind(consumer, batch)
                log.warning("batch aborted and will be read again: %s", error)
                return
            raise  # fenced or fatal: the worker stops; its supervisor restarts it
        metrics.observe_changes(self.tables)
        self.tables.commit()
        self.processed += len(batch)
        metrics.observe_batch(stats, inbound, time.monotonic() - started)
        metrics.observe_lag(consumer, self._assigned, self.source_topic)

    @staticmethod
    def _produce(producer, produce, topic, key, value, partition) -> None:
        while True:
            try:
                if partition is None:
                    produce(topic, value=value, key=key)
                else:
                    produce(topic, value=value, key=key, partition=partition)
                return
            except BufferError:  # the local queue is full: let deliveries drain, never drop
                producer.poll(0.05)

    @staticmethod
    def _rewind(consumer: Consumer, batch: list) -> None:
        first: dict[tuple[str, int], int] = {}
        for m in batch:
            first.setdefault((m.topic(), m.partition()), m.offset())
        for (topic, partition), offset in first.items():
            consumer.seek(TopicPartition(topic, partition, offset))
