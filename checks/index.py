"""The blacklist index: every subject's latest BlacklistEntry, held in memory, built from the
compacted credit.blacklist topic and followed.

At boot the topic is read from the beginning (read_committed: the worker writes in transactions)
into a new dict that replaces the empty one in one step once every partition has reached its end;
until then the index is not ready. Afterwards each polled batch is applied as one step and the
index's state (offsets per partition, time of the newest change, whether it is at the end) is
replaced by a new immutable value, so every answer can say which version it came from and how fresh
it is. A tombstone removes the subject.

Freshness is what the broker confirms, not what the reader believes: about once a second the
follower asks the broker for each partition's end and records when it last found itself there
(``checked_at``). A follower that stopped, died or lost the broker stops confirming, so after
STALE_AFTER_MS its answers say ``stale`` instead of silently serving old data.
"""
from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Callable

from confluent_kafka import OFFSET_BEGINNING, Consumer, IsolationLevel, KafkaError, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, OffsetSpec

from avro_schemas.codec import BLACKLIST_ENTRY, UndecodableMessage, codec
from checks.names import NameIndex
from creditstream.gc_policy import freeze_survivors
from creditstream.topics import BLACKLIST

log = logging.getLogger(__name__)
STALE_AFTER_MS = 5_000     # no confirmation from the broker for this long: answers are stale
CONFIRM_EVERY_S = 1.0


@dataclass(frozen=True)
class FollowState:
    """What a reader of the topic has applied: next offset per partition, the newest change's time,
    and whether every partition was at its end at the last poll."""
    offsets: tuple[tuple[int, int], ...] = ()
    as_of_ms: int | None = None
    at_end: bool = False
    checked_at_ms: int | None = None   # last poll that found every partition at its end

    def version(self, topic: str) -> str:
        return f"{topic}:" + ",".join(f"{p}={o}" for p, o in self.offsets)

    def age_ms(self, now_ms: int) -> int | None:
        """Since the broker last confirmed the index held everything (None: never)."""
        return None if self.checked_at_ms is None else max(0, now_ms - self.checked_at_ms)

    def stale(self, now_ms: int, after_ms: int = STALE_AFTER_MS) -> bool:
        age = self.age_ms(now_ms)
        return age is None or age > after_ms


# How long the broker holds a follower's fetch when there is nothing new; a change is answered at
# once whatever this is (fetch.min.bytes 1). At 20 ms the idle polling of the followers took over a
# quarter of the embedded broker's CPU during the check benchmark.
IDLE_FETCH_WAIT_MS = 500


class TopicFollower:
    """Reads a topic from the beginning and keeps following it on a thread, handing each polled
    batch of (key, value, timestamp_ms) to ``apply``. ``ready`` is set once every partition has
    been read to the end that was there at boot."""

    def __init__(self, bootstrap_servers: str, topic: str, apply: Callable[[list, bool], None],
                 name: str = "follower", poll_wait_ms: int = IDLE_FETCH_WAIT_MS):
        self.topic = topic
        self.apply = apply
        self.ready = threading.Event()
        self.state = FollowState()
        self.failure: str | None = None   # the thread ended on an unexpected error
        self.waiting: str | None = None   # still at boot: the broker or the topic not there yet
        self._stop = threading.Event()
        self._config = {
            "bootstrap.servers": bootstrap_servers,
            # Never commits: every start reads the whole (compacted) topic again.
            "group.id": f"creditstream-{name}-{os.getpid()}-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
            "isolation.level": "read_committed",
            "enable.partition.eof": True,
            "auto.offset.reset": "earliest",
            "fetch.wait.max.ms": poll_wait_ms,
            "log_level": 3,
        }
        self._thread = threading.Thread(target=self._run, name=f"{name}-{topic}", daemon=True)

    def start(self) -> "TopicFollower":
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        try:
            self._follow()
        except Exception as exc:  # noqa: BLE001 - reported by /readyz; never a silent dead thread
            self.failure = f"{type(exc).__name__}: {exc}"
            log.exception("following %s failed", self.topic)

    def _follow(self) -> None:
        consumer = Consumer(self._config)
        try:
            partitions = self._wait_for_topic(consumer)
            if partitions is None:
                return
            consumer.assign([TopicPartition(self.topic, p, OFFSET_BEGINNING) for p in partitions])
            offsets = {p: 0 for p in partitions}
            admin = AdminClient({"bootstrap.servers": self._config["bootstrap.servers"], "log_level": 3})
            at_end: set[int] = set()
            as_of = None
            confirmed_at, next_confirm = None, 0.0
            while not self._stop.is_set():
                messages = consumer.consume(10_000, timeout=0.05 if self.ready.is_set() else 0.5)
                batch = []
                for msg in messages:
                    error = msg.error()
                    if error is not None:
                        if error.code() == KafkaError._PARTITION_EOF:
                            at_end.add(msg.partition())
                            offsets[msg.partition()] = max(offsets[msg.partition()], msg.offset())
                        else:
                            log.warning("reading %s: %s", self.topic, error)
                        continue
                    at_end.discard(msg.partition())
                    offsets[msg.partition()] = msg.offset() + 1
                    timestamp = msg.timestamp()[1]
                    batch.append((msg.key(), msg.value(), timestamp))
                    if timestamp > 0:
                        as_of = timestamp if as_of is None else max(as_of, timestamp)
                caught_up = len(at_end) == len(partitions)
                if batch or not self.ready.is_set():
                    self.apply(batch, self.ready.is_set() or caught_up)
                if caught_up and time.monotonic() >= next_confirm:
                    next_confirm = time.monotonic() + CONFIRM_EVERY_S
                    if self._at_broker_end(admin, partitions, offsets):
                        confirmed_at = int(time.time() * 1000)
                self.state = FollowState(tuple(sorted(offsets.items())), as_of, caught_up, confirmed_at)
                if caught_up and not self.ready.is_set():
                    # What was read at boot lives as long as the process: out of the cycle
                    # collector's sight, so that its full passes do not stall answers (p99).
                    freeze_survivors()
                    self.ready.set()
        finally:
            consumer.close()

    def _wait_for_topic(self, consumer: Consumer, attempt_s: float = 2.0, report_every_s: float = 60.0):
        """The topic's partitions, asked until the broker has the topic: a service may start before
        the broker or before the topic is created. None when stopped meanwhile."""
        reported = 0.0
        while not self._stop.is_set():
            try:
                metadata = consumer.list_topics(self.topic, timeout=attempt_s).topics[self.topic]
                reason = None if metadata.error is None and metadata.partitions else f"topic {self.topic}: {metadata.error}"
            except KafkaException as exc:
                reason = f"broker not reachable: {exc.args[0].str() if exc.args else exc}"
            if reason is None:
                if self.waiting:
                    log.info("%s is there now; reading it", self.topic)
                self.waiting = None
                return sorted(metadata.partitions)
            self.waiting = reason
            if time.monotonic() - reported >= report_every_s:
                reported = time.monotonic()
                log.warning("waiting to read %s (%s); trying again", self.topic, reason)
            self._stop.wait(1.0)
        return None

    def _at_broker_end(self, admin: AdminClient, partitions, offsets) -> bool:
        """The broker says no partition holds a committed message past what was applied: its last
        stable offset, asked in one ListOffsets request (an open transaction is not ahead of us)."""
        try:
            futures = admin.list_offsets({TopicPartition(self.topic, p): OffsetSpec.latest() for p in partitions},
                                         isolation_level=IsolationLevel.READ_COMMITTED, request_timeout=1.0)
            ends = {tp.partition: future.result(timeout=1.5).offset for tp, future in futures.items()}
            # A partition the broker did not answer for comes back as -1: not confirmed.
            return len(ends) == len(partitions) and all(0 <= end <= offsets[p] for p, end in ends.items())
        except Exception as exc:  # noqa: BLE001 - the broker away: not confirmed, answers go stale
            log.debug("cannot confirm the end of %s: %s", self.topic, exc)
            return False


_EPOCH = date(1970, 1, 1)


def _days(value):
    return (value - _EPOCH).days if isinstance(value, date) else value


def _millis(value):
    return int(value.timestamp() * 1000) if isinstance(value, datetime) else value


def as_plain(entry: dict) -> dict:
    """The entry with Avro's logical types as the wire has them (days, milliseconds): the answer
    rules compare them with today's day number, and the audit record writes them back as such."""
    for name in ("since", "until"):
        entry[name] = _days(entry.get(name))
    for name in ("updated_at", "status_since"):
        entry[name] = _millis(entry.get(name))
    for basis in entry.get("basis") or ():
        basis["decision_date"] = _days(basis.get("decision_date"))
        basis["valid_until"] = _days(basis.get("valid_until"))
    return entry


class FollowedTopic:
    """A table in memory kept from a topic by a TopicFollower."""
    follower: TopicFollower

    def start(self):
        self.follower.start()
        return self

    def stop(self) -> None:
        self.follower.stop()

    @property
    def ready(self) -> bool:
        return self.follower.ready.is_set()


Listener = Callable[[dict[str, tuple[dict | None, dict | None]], FollowState], None]


class BlacklistIndex(FollowedTopic):
    """subject key -> latest BlacklistEntry, from credit.blacklist, with the names of the listed
    organisations for the name fallback. Listeners hear each live batch's changes (subject key ->
    (entry before, entry after)): the watch lists re-check only those subjects."""

    def __init__(self, bootstrap_servers: str, topic: str = BLACKLIST, poll_wait_ms: int = IDLE_FETCH_WAIT_MS,
                 listeners: list[Listener] | None = None):
        self.bootstrap_servers = bootstrap_servers
        self.entries: dict[str, dict] = {}
        self.names = NameIndex()
        self.listeners: list[Listener] = listeners if listeners is not None else []
        self._building: dict[str, dict] = {}
        self._decode = codec(BLACKLIST_ENTRY).decode
        self.undecodable = 0
        self.follower = TopicFollower(bootstrap_servers, topic, self._apply, "check-index", poll_wait_ms)

    @property
    def state(self) -> FollowState:
        return self.follower.state

    def version(self, state: FollowState | None = None) -> str:
        return (state or self.state).version(self.follower.topic)

    def get(self, key: str) -> dict | None:
        return self.entries.get(key)

    def fresh(self) -> "BlacklistIndex":
        """A new index of the same topic with the same listeners, to be built and switched in."""
        return BlacklistIndex(self.bootstrap_servers, self.follower.topic, listeners=self.listeners)

    def _apply(self, batch: list, live: bool) -> None:
        target = self.entries if self.ready else self._building
        changes: dict[str, dict | None] = {}
        for key, value, _ts in batch:
            if key is None:
                continue
            subject = key.decode("utf-8", "replace")
            if value is None:
                changes[subject] = None
                continue
            try:
                changes[subject] = as_plain(self._decode(value))
            except UndecodableMessage as exc:
                self.undecodable += 1
                log.warning("undecodable blacklist entry at key %s: %s", subject[:8] + "…", exc)
        heard = {} if self.ready else None
        for subject, entry in changes.items():
            before = target.pop(subject, None) if entry is None else target.get(subject)
            if entry is not None:
                target[subject] = entry
            if heard is not None:
                heard[subject] = (before, entry)
                self.names.put(subject, listed_name(entry))
        if live and not self.ready:
            # Caught up: the fully built index, and its names, replace the empty ones in one step.
            names = NameIndex.build((k, listed_name(e)) for k, e in self._building.items())
            self.names, self.entries, self._building = names, self._building, {}
        if heard:
            for listener in self.listeners:
                try:
                    listener(heard, self.state)
                except Exception:  # noqa: BLE001 - a listener's failure never stops the index
                    log.exception("blacklist listener failed")


def listed_name(entry: dict | None) -> str | None:
    """The name the name fallback searches: organisations only. A person is checked by ID number:
    a name alone would show strangers who share it."""
    if entry is None or entry.get("subject_type") == "NATURAL_PERSON":
        return None
    return entry.get("subject_name")
