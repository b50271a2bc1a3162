"""One batch of inbound messages in, the messages to publish out: decode, assess, de-duplicate,
route, encode.

No Kafka client here, so the batch step is tested and benchmarked without a broker. Every input
message yields exactly one output on credit.records or credit.rejected — except a replay (an
event id already handled), which is counted and dropped — plus, when a record changes a
subject's standing, its entry (or tombstone) on credit.blacklist / credit.redlist. Nothing
raises out of here: a rule that fails sends its record to credit.rejected as `internal_error`.
"""
from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Callable, Iterable, NamedTuple

from avro_schemas.codec import BLACKLIST_ENTRY, CREDIT_EVENT, REJECTION, VALIDATED_RECORD, UndecodableMessage, codec
from creditstream.domain import reasons as R
from creditstream.domain.assessment import Outcome, assess, default_catalog, rejection_for
from creditstream.domain.catalog import UnitCatalog
from creditstream.domain.dedup import Sighting, duplicate_of, expired, is_replay
from creditstream.domain.lists import BLACK, apply_change, expire, settle
from creditstream.domain.normalise import china_day_of_millis
from creditstream.domain.privacy import prohibited_attribute
from creditstream.domain.pseudonym import Pseudonymiser, ephemeral_pseudonymiser
from creditstream.domain.reasons import Reason
from creditstream.domain.unit_counts import count_outcome, empty_counts
from creditstream.failure import where
from creditstream.topics import BLACKLIST, RECORDS, REDLIST, REJECTED, SIGHTINGS_RETENTION_DAYS
from avro_schemas.compiled import fast
from stream_apps.tables import StreamTables, natural_key_bytes, pack_sighting, unpack_sighting

log = logging.getLogger(__name__)

LIST_TOPICS = {BLACK: BLACKLIST, "red": REDLIST}


class InboundMessage(NamedTuple):
    topic: str
    partition: int
    offset: int
    value: bytes | None
    timestamp_ms: int | None = None


class OutboundMessage(NamedTuple):
    topic: str
    key: bytes
    value: bytes | None  # None: a tombstone


@dataclass
class BatchStats:
    """What a batch did, by the labels the metrics use; the caller adds it to its counters."""
    events_in: Counter = field(default_factory=Counter)     # (unit, category)
    events_out: Counter = field(default_factory=Counter)    # (unit, category, outcome)
    rejects: Counter = field(default_factory=Counter)       # reason code
    prohibited: Counter = field(default_factory=Counter)    # (unit, attribute)


# Compiled for the hot path; same bytes as the codec (see avro_schemas.compiled).
_event_codec = fast(codec(CREDIT_EVENT))
_record_codec = fast(codec(VALIDATED_RECORD))
_rejection_codec = fast(codec(REJECTION))
_entry_codec = fast(codec(BLACKLIST_ENTRY))


def _origin(msg: InboundMessage) -> dict:
    return {"topic": msg.topic, "partition": msg.partition, "offset": msg.offset}


class BatchProcessor:
    """The stream's step, with the tables it reads and writes (through their batch overlay)."""

    def __init__(self, tables: StreamTables | None = None, catalog: UnitCatalog | None = None,
                 clock_offset_days: int = 0, pseudonyms: Callable[[], Pseudonymiser] | None = None):
        """`pseudonyms` gives the current keys (a KeyRing's `current`, which follows rotations).
        Without it a throw-away key set is made: persons are still never keyed by their number,
        but the pseudonyms match no other process's — for tests and benchmarks only."""
        self.tables = tables or StreamTables()
        self.catalog = catalog or default_catalog()
        self.clock_offset = timedelta(days=clock_offset_days)
        if pseudonyms is None:
            throwaway = ephemeral_pseudonymiser()
            pseudonyms = lambda: throwaway  # noqa: E731
        self.pseudonyms = pseudonyms

    def now(self) -> datetime:
        return datetime.now(timezone.utc) + self.clock_offset

    def process(self, messages: Iterable[InboundMessage], now: datetime | None = None,
                stats: BatchStats | None = None) -> list[OutboundMessage]:
        now = now or self.now()
        now_ms = int(now.timestamp() * 1000)
        today = china_day_of_millis(now_ms)
        stats = stats if stats is not None else BatchStats()
        keys = self.pseudonyms()  # once per batch: a rotation takes effect at a batch boundary
        out: list[OutboundMessage] = []
        for msg in messages:
            try:
                event = _event_codec.decode(msg.value)
            except UndecodableMessage as exc:
                rejection = rejection_for({"event_id": f"{msg.topic}-{msg.partition}-{msg.offset}"},
                                          [Reason(R.UNDECODABLE, "", str(exc))], now_ms, origin=_origin(msg))
                out.append(OutboundMessage(REJECTED, rejection["event_id"].encode(), _rejection_codec.encode(rejection)))
                stats.events_in[("", "")] += 1
                stats.events_out[("", "", "rejected")] += 1
                stats.rejects[R.UNDECODABLE] += 1
                continue
            unit, category = event["source_unit"], event["category"]
            stats.events_in[(unit, category)] += 1
            try:
                outcome = assess(event, now, self.catalog, keys)
                encoded, writes, replay = self._route(msg, outcome, today, now_ms)
            except Exception as exc:  # a rule that raises must not stop the stream or lose the record
                log.error("internal error on %s-%s@%s: %s", msg.topic, msg.partition, msg.offset, where(exc))
                rejection = rejection_for(event, [Reason(R.INTERNAL_ERROR, "", type(exc).__name__)], now_ms,
                                          origin=_origin(msg))
                outcome = Outcome(rejection=rejection)
                encoded = [OutboundMessage(REJECTED, rejection["event_id"].encode(), _rejection_codec.encode(rejection))]
                writes, replay = [], False
            for table, key, value in writes:  # only once everything for the record is computed
                table.put(msg.partition, key, value)
            out.extend(encoded)
            self._count(msg.partition, event, outcome, replay, stats, today)
        return out

    def _route(self, msg: InboundMessage, outcome: Outcome, today: int, now_ms: int):
        """The encoded outputs of one assessed event and the table writes that go with them."""
        if outcome.record is None:
            outcome.rejection["origin"] = _origin(msg)
            rejection = outcome.rejection
            return [OutboundMessage(REJECTED, rejection["event_id"].encode(), _rejection_codec.encode(rejection))], [], False
        record = outcome.record
        sightings = self.tables.natural_key_to_sighting
        natural_key = natural_key_bytes(outcome.natural_key)
        seen = sightings.get(msg.partition, natural_key)
        first = unpack_sighting(seen) if seen is not None else None
        if first is not None and expired(first, today, SIGHTINGS_RETENTION_DAYS):
            first = None
        if is_replay(first, record["event_id"], msg.partition, msg.offset):
            return [], [], True
        writes = []
        if first is None:
            writes.append((sightings, natural_key,
                           pack_sighting(Sighting(record["event_id"], msg.partition, msg.offset, today))))
        record["duplicate_of"] = duplicate_of(first, record["event_id"])
        key = record["subject_key"].encode()
        encoded = [OutboundMessage(RECORDS, key, _record_codec.encode(record))]
        change = outcome.list_change
        if change is not None and record["duplicate_of"] is None:  # a duplicate changes nothing twice
            lists = self.tables.subject_to_list_state
            for kind in change.lists:
                state_key = f"{kind}|{change.subject_key}"
                before = lists.get(msg.partition, state_key)
                after = apply_change(before, change, kind, today, now_ms, self.catalog.exit_on_deregistration)
                if after is None:
                    continue
                after, entries = settle(before, after, now_ms)
                writes.append((lists, state_key, after))
                encoded.extend(OutboundMessage(LIST_TOPICS[kind], key, None if e is None else _entry_codec.encode(e))
                               for e in entries)
        return encoded, writes, False

    def _count(self, partition: int, event: dict, outcome: Outcome, replay: bool, stats: BatchStats,
               today: int) -> None:
        unit, category = event["source_unit"], event["category"]
        reported = event.get("reported_at")
        day = china_day_of_millis(reported) if isinstance(reported, int) else today
        counts = self.tables.unit_day_to_counts.for_update(partition, f"{unit}|{day}", empty_counts)
        count_outcome(counts, record=outcome.record, rejection=outcome.rejection,
                      prohibited=outcome.prohibited_dropped, replay=replay)
        if replay:
            stats.events_out[(unit, category, "replay")] += 1
        elif outcome.record is not None:
            stats.events_out[(unit, category, "duplicate" if outcome.record["duplicate_of"] else "record")] += 1
        else:
            stats.events_out[(unit, category, "rejected")] += 1
            for reason in outcome.rejection["reasons"]:
                stats.rejects[reason["code"]] += 1
        for name in outcome.prohibited_dropped:
            stats.prohibited[(unit, prohibited_attribute(name.rsplit(".", 1)[-1]) or "other")] += 1

    def sweep(self, partitions: Iterable[int], now: datetime | None = None) -> list[OutboundMessage]:
        """Expiry of punishment periods (期满): every live basis whose valid_until passed ends;
        the subjects' entries are updated or tombstoned. Run when the day changes."""
        now = now or self.now()
        now_ms = int(now.timestamp() * 1000)
        today = china_day_of_millis(now_ms)
        lists = self.tables.subject_to_list_state
        out: list[OutboundMessage] = []
        for partition in partitions:
            for state_key, before in lists.items(partition):
                after = expire(before, today, now_ms)
                if after is None:
                    continue
                after, entries = settle(before, after, now_ms)
                lists.put(partition, state_key, after)
                kind, subject_key = state_key.split("|", 1)
                out.extend(OutboundMessage(LIST_TOPICS[kind], subject_key.encode(),
                                           None if e is None else _entry_codec.encode(e)) for e in entries)
        return out


def process_batch(messages: Iterable[InboundMessage], now: datetime | None = None,
                  processor: BatchProcessor | None = None) -> list[OutboundMessage]:
    """One batch with a processor's tables (a fresh one's when none is given)."""
    processor = processor or BatchProcessor()
    outputs = processor.process(messages, now)
    processor.tables.commit()
    return outputs
