"""The blacklist index: every subject's latest BlacklistEntry, held in memory, built from the
compacted credit.blacklist topic and followed.

At boot the topic is read from the beginning (read_committed: the worker writes in transactions)
into a new dict that replaces the empty one in one step once every partition has reached its end;
until then the index is not ready. Afterwards each polled batch is applied as one step and the
index's state (offsets per partition, time of the newest change, whether it is at the end) is
replaced by a new immutable value, so every answer can say which version it came from and how fresh
it is. A tombstone removes the subject.
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

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, TopicPartition

from avro_schemas.codec import BLACKLIST_ENTRY, UndecodableMessage, codec
from creditstream.topics import BLACKLIST

log = logging.getLogger(__name__)


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


class TopicFollower:
    """Reads a topic from the beginning and keeps following it on a thread, handing each polled
    batch of (key, value, timestamp_ms) to ``apply``. ``ready`` is set once every partition has
    been read to the end that was there at boot."""

    def __init__(self, bootstrap_servers: str, topic: str, apply: Callable[[list, bool], None],
                 name: str = "follower", poll_wait_ms: int = 20):
        self.topic = topic
        self.apply = apply
        self.ready = threading.Event()
        self.state = FollowState()
        self.failure: str | None = None
        self._stop = threading.Event()
        self._config = {
            "bootstrap.servers": bootstrap_servers,
            # Never commits: every start reads the whole (compacted) topic again.
            "group.id": f"creditstream-{name}-{os.getpid()}-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
            "isolation.level": "read_committed",
            "enable.partition.eof": True,
            "auto.offset.reset": "earliest",
            # Short fetch waits: a change must be visible in well under a second.
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
            metadata = consumer.list_topics(self.topic, timeout=30).topics[self.topic]
            if metadata.error is not None:
                raise RuntimeError(f"topic {self.topic}: {metadata.error}")
            partitions = sorted(metadata.partitions)
            consumer.assign([TopicPartition(self.topic, p, OFFSET_BEGINNING) for p in partitions])
            offsets = {p: 0 for p in partitions}
            at_end: set[int] = set()
            as_of = None
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
                now = int(time.time() * 1000)
                previous = self.state
                self.state = FollowState(tuple(sorted(offsets.items())), as_of, caught_up,
                                         now if caught_up else previous.checked_at_ms)
                if caught_up and not self.ready.is_set():
                    self.ready.set()
        finally:
            consumer.close()


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


class BlacklistIndex(FollowedTopic):
    """subject key -> latest BlacklistEntry, from credit.blacklist."""

    def __init__(self, bootstrap_servers: str, topic: str = BLACKLIST, poll_wait_ms: int = 20):
        self.entries: dict[str, dict] = {}
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
        for subject, entry in changes.items():
            if entry is None:
                target.pop(subject, None)
            else:
                target[subject] = entry
        if live and not self.ready:
            # Caught up: the fully built index replaces the empty one in one step.
            self.entries, self._building = self._building, {}
