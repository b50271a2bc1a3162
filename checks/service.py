"""The check service's parts, wired from settings: the blacklist index, the objection book, the
unit tokens, the pseudonymisation keys, and the producers of the audit topics and control records.

Check records are written to a local spool before the answer leaves, and a sender process
produces them to credit.checks (checks.audit_spool, checks.audit_sender): a service killed at any
moment loses no check it answered, and the broker's work stays out of the answers' interpreter. Objections, feedback and control
records are rarer and worth the wait: their answer comes after the broker's acknowledgement.
"""
from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from avro_schemas.codec import CHECK_FEEDBACK, OBJECTION_EVENT
from checks.audit_spool import SpoolWriter, backlog_bytes, spool_dir
from checks.book import ObjectionBook
from checks.index import BlacklistIndex
from creditstream.auth.tokens import TokenStore
from creditstream.domain.catalog import UnitCatalog, load_catalog
from creditstream.topics import CHECK_FEEDBACK as FEEDBACK_TOPIC, INBOUND, OBJECTIONS
from producers.credit_producer import CreditProducer

log = logging.getLogger(__name__)


class NotDelivered(RuntimeError):
    """The broker did not acknowledge a record in time; nothing was changed."""


class CheckAudit:
    """The check records of every answer, on disk before the answer leaves, then produced by the
    sender process (checks.audit_sender), which this starts, watches and starts again if it exits.

    ``emit``/``emit_many`` append to the spool (checks.audit_spool): a ``write`` of a few hundred
    bytes; the encoding, the producing and the waiting for the broker happen in the other process.
    ``sender=False`` keeps the records in the spool (tests read them back)."""

    def __init__(self, directory: Path, bootstrap: str, sender: bool = True):
        self.directory, self.bootstrap = Path(directory), bootstrap
        self.writer = SpoolWriter(self.directory)
        self.with_sender = sender
        self.sender_starts = 0
        self._sender: subprocess.Popen | None = None
        self._stop = threading.Event()
        self._watch = threading.Thread(target=self._keep_sender, name="check-audit-sender", daemon=True)

    def emit(self, record: dict) -> None:
        self.writer.append([record])

    def emit_many(self, records: list[dict]) -> None:
        if records:
            self.writer.append(records)

    def start(self) -> "CheckAudit":
        if self.with_sender:
            self._start_sender()
            self._watch.start()
        return self

    def _start_sender(self) -> None:
        self.sender_starts += 1
        self._sender = subprocess.Popen(
            [sys.executable, "-m", "checks.audit_sender", "--spool", str(self.directory),
             "--bootstrap", self.bootstrap, "--parent", str(os.getpid())], stdin=subprocess.DEVNULL)

    def _keep_sender(self) -> None:
        while not self._stop.wait(1.0):
            code = self._sender.poll()
            if code is not None and not self._stop.is_set():
                log.error("the check audit sender exited (status %s); starting it again", code)
                self._start_sender()

    @property
    def sender_pid(self) -> int | None:
        return self._sender.pid if self._sender else None

    @property
    def backlog_bytes(self) -> int:
        """Spooled and not yet acknowledged by the broker."""
        return backlog_bytes(self.directory)

    def stop(self, timeout: float = 30.0) -> int:
        """No more records; the sender sends what the spool holds and exits. Returns the bytes
        still unsent (they stay in the spool for the next start)."""
        self._stop.set()
        self.writer.close()
        if self._sender is not None and self._sender.poll() is None:
            self._sender.send_signal(signal.SIGTERM)
            try:
                self._sender.wait(timeout)
            except subprocess.TimeoutExpired:
                self._sender.kill()
                self._sender.wait()
        left = self.backlog_bytes
        if left:
            log.error("%d bytes of check records are still in %s; the next start sends them", left, self.directory)
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


REBUILD_WAIT_S = 30.0  # how long a rebuild waits for an unreachable broker or a missing topic


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
    audit: CheckAudit
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
            started = time.monotonic()
            deadline = started + timeout
            while not fresh.ready:
                # The index in service keeps answering; a rebuild that cannot reach the broker
                # gives up after a while rather than holding the next request off.
                unreachable = fresh.follower.waiting if time.monotonic() > started + REBUILD_WAIT_S else None
                if fresh.follower.failure or unreachable or time.monotonic() > deadline:
                    log.error("index rebuild abandoned: %s", fresh.follower.failure or unreachable or "timed out")
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
        audit=CheckAudit(spool_dir(settings), bootstrap),
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
