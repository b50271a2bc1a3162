"""The check service's parts, wired from settings: the blacklist index, the objection book, the
unit tokens, the pseudonymisation keys, and the producers of the audit topics and control records.

Check records leave off the request path: the handler queues the record and a sender thread
encodes and produces it; a failed delivery is produced again, and stopping the service drains the
queue and flushes, so an orderly stop loses no audit record. Objections, feedback and control
records are rarer and worth the wait: their answer comes after the broker's acknowledgement.
"""
from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass, field

from avro_schemas.codec import CHECK_FEEDBACK, CHECK_RECORD, OBJECTION_EVENT
from checks.book import ObjectionBook
from checks.index import BlacklistIndex
from creditstream.auth.tokens import TokenStore
from creditstream.domain.catalog import UnitCatalog, load_catalog
from creditstream.topics import CHECK_FEEDBACK as FEEDBACK_TOPIC, CHECKS, INBOUND, OBJECTIONS
from producers.credit_producer import CreditProducer

log = logging.getLogger(__name__)


class NotDelivered(RuntimeError):
    """The broker did not acknowledge a record in time; nothing was changed."""


class AuditSender:
    """Produces queued check records on a thread; retries failed deliveries; drains on stop.

    The thread takes what was queued every ``interval`` seconds rather than waking for each record:
    at 2,000 checks/s a wake-up per record (and the interpreter lock handed over each time) cost
    the sender more than encoding the record, and it shared the interpreter with the answers."""

    def __init__(self, producer: CreditProducer, interval: float = 0.01):
        self.producer = producer
        self.interval = interval
        self.queue: queue.SimpleQueue = queue.SimpleQueue()
        self.retries = 0
        self.failed = 0  # records that raised while built or sent: logged, never silent
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="check-audit", daemon=True)

    def start(self) -> "AuditSender":
        self._thread.start()
        return self

    def emit(self, record: dict) -> None:
        self.queue.put(record)

    def emit_many(self, records: list[dict]) -> None:
        self.queue.put(records)

    def emit_later(self, build) -> None:
        """``build()`` returns the records; it runs on the sender thread (a bulk's 25,000 records
        are built after its answer has left)."""
        self.queue.put(build)

    def _send(self, record: dict) -> None:
        def on_delivery(err, record=record):
            if err is not None:  # produced again: an audit record is never dropped
                self.retries += 1
                self.queue.put(record)
        self.producer.send(record, key=record["check_id"], on_delivery=on_delivery)

    def _drain(self, wait: float) -> None:
        try:
            item = self.queue.get(timeout=wait)
        except queue.Empty:
            return
        while True:
            try:
                if callable(item):
                    item = item()
                for record in item if isinstance(item, list) else (item,):
                    self._send(record)
            except Exception as exc:  # one bad record must not end the audit of every later check
                self.failed += 1
                log.error("a check record could not be built or sent (%s); the audit goes on", type(exc).__name__)
            try:
                item = self.queue.get_nowait()
            except queue.Empty:
                return

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._drain(0)
            self.producer.poll(0)

    @property
    def pending(self) -> int:
        return self.queue.qsize() + self.producer.pending

    def stop(self, timeout: float = 30.0) -> int:
        """Send everything queued and wait for the broker; returns what is still undelivered."""
        self._stop.set()
        self._thread.join(10)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._drain(0)
            if self.producer.flush(max(0.1, deadline - time.monotonic())) == 0 and self.queue.empty():
                break
        left = self.pending
        if left:
            log.error("%d check records were not delivered to %s", left, CHECKS)
        return left


def send_and_wait(producer: CreditProducer, record: dict, key: str | None = None, timeout: float = 15.0) -> None:
    """Produce one record and return once the broker has it; NotDelivered otherwise."""
    outcome: list = []
    producer.send(record, key=key, on_delivery=outcome.append)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        producer.flush(min(1.0, max(0.1, deadline - time.monotonic())))
        if producer.pending == 0:
            break
    errors = [err for err in outcome if err is not None]  # reports come for failures only
    if errors or producer.pending:
        raise NotDelivered(f"the broker did not take the record: {errors[0] if errors else 'timed out'}")


@dataclass
class CheckLimits:
    max_body_bytes: int = 4 * 1024 * 1024
    max_bulk_subjects: int = 50_000
    rate_per_token: float = 5000.0
    burst_per_token: int = 10_000


@dataclass
class CheckService:
    index: BlacklistIndex
    book: ObjectionBook
    tokens: TokenStore
    keys: object                      # KeyRing: .current() -> Pseudonymiser
    audit: AuditSender
    feedback: CreditProducer
    objections: CreditProducer
    inbound: CreditProducer
    catalog: UnitCatalog
    limits: CheckLimits = field(default_factory=CheckLimits)
    watches: object | None = None     # checks.watches.Watches
    rebuilding: bool = False
    rebuilt_at_ms: int | None = None

    def __post_init__(self) -> None:
        from checks.metrics import CheckMetrics

        self.metrics = CheckMetrics(self)
        self._rebuild_lock = threading.Lock()

    @property
    def ready(self) -> bool:
        return self.index.ready and self.book.ready

    def start_rebuild(self, timeout: float = 600.0) -> bool:
        """Build a new index from the beginning of credit.blacklist on a thread and switch to it
        in one step (one assignment: every answer reads ``self.index`` once) when it is complete;
        False when a rebuild is already under way."""
        if not self._rebuild_lock.acquire(blocking=False):
            return False
        self.rebuilding = True
        threading.Thread(target=self._rebuild, args=(timeout,), name="index-rebuild", daemon=True).start()
        return True

    def _rebuild(self, timeout: float) -> None:
        fresh = self.index.fresh().start()
        try:
            deadline = time.monotonic() + timeout
            while not fresh.ready:
                if fresh.follower.failure or time.monotonic() > deadline:
                    log.error("index rebuild abandoned: %s", fresh.follower.failure or "timed out")
                    fresh.stop()
                    return
                time.sleep(0.05)
            old, self.index = self.index, fresh
            self.rebuilt_at_ms = int(time.time() * 1000)
            old.stop()
            log.info("blacklist index rebuilt: %d subjects at %s", len(fresh.entries), fresh.version())
        finally:
            self.rebuilding = False
            self._rebuild_lock.release()

    def start(self) -> "CheckService":
        self.index.start()
        self.book.start()
        self.audit.start()
        if self.watches is not None:
            self.watches.start()
            threading.Thread(target=self._recheck_watches, name="watch-recheck", daemon=True).start()
        return self

    def _recheck_watches(self) -> None:
        """Once the index is built: report what changed for watched subjects while we were down."""
        while not self.index.ready:
            if self.index.follower.failure:
                return
            time.sleep(0.1)
        self.watches.recheck_all()

    def stop(self) -> None:
        if self.watches is not None:
            self.watches.stop()
        self.audit.stop()
        for producer in (self.feedback, self.objections, self.inbound):
            producer.flush_all()
        self.index.stop()
        self.book.stop()


def build_service(settings, limits: CheckLimits | None = None) -> CheckService:
    from pathlib import Path

    from checks.watches import TOPIC_PREFIX, WATCH_EVENT, Watches, WatchStore
    from creditstream.keys import KeyRing
    from creditstream.topics import TopicSpec, ensure_topics

    bootstrap = settings.bootstrap_servers
    catalog = load_catalog(settings.worker_unit_catalog or None)
    listeners: list = []

    def ensure_topic(topic: str) -> None:
        ensure_topics(bootstrap, [TopicSpec(topic, settings.topic_partitions, settings.topic_replication)])

    service = CheckService(
        index=BlacklistIndex(bootstrap, listeners=listeners), book=ObjectionBook(bootstrap),
        tokens=TokenStore.for_settings(settings),
        keys=KeyRing.for_settings(settings),
        # The audit of checks is off the answer's path: a check record waits up to 50 ms for its
        # batch. At 2,000 checks/s a 5 ms linger made batches of ten, and librdkafka's thread spent
        # about 70 µs of CPU per record sending them, on the two cores the answers need. Sending
        # is still what the answers' p99 pays (bench/RESULTS.md); longer lingers did not help.
        audit=AuditSender(CreditProducer(bootstrap, topic=CHECKS, record=CHECK_RECORD, **{"linger.ms": 50})),
        feedback=CreditProducer(bootstrap, topic=FEEDBACK_TOPIC, record=CHECK_FEEDBACK, **{"linger.ms": 0}),
        objections=CreditProducer(bootstrap, topic=OBJECTIONS, record=OBJECTION_EVENT, **{"linger.ms": 0}),
        inbound=CreditProducer(bootstrap, topic=INBOUND, **{"linger.ms": 0}),
        catalog=catalog,
        limits=limits or CheckLimits(settings.check_max_body_bytes, settings.check_max_bulk_subjects,
                                     settings.check_rate_per_token, settings.check_burst_per_token))
    service.watches = Watches(WatchStore(Path(settings.data_dir) / "checks" / "watches.sqlite"), lambda: service.index,
                              CreditProducer(bootstrap, topic=TOPIC_PREFIX, record=WATCH_EVENT, **{"linger.ms": 0}),
                              service.metrics, ensure_topic)
    listeners.append(service.watches.on_changes)
    return service
