"""Store one partition batch: one insert per table (per writer schema for pass-through), each with a
deduplication token named after the batch's offset range, so a replay of the batch stores nothing
twice. Everything here is a function of the batch and the replay guard's state, which does not change
until the batch is stored: a retried batch produces the same inserts, byte for byte.
"""
from __future__ import annotations

import logging
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from clickhouse_connect.driver.exceptions import OperationalError

from avro_schemas.codec import HEADER_SIZE, MAGIC, UndecodableMessage, catalog, codec
from sinks.avro_passthrough import COORDINATE_COLUMNS, container_format, coordinates_prefix, leading_string, \
    schema_field_names, zigzag_varint
from creditstream.domain.audit_chain import GENESIS, chain
from sinks.metrics import SinkMetrics
from sinks.partition_batch import PartitionBatch
from sinks.replay_guard import RecentEventIds, first_seen
from sinks.tables import REJECTION_INSERT_COLUMNS, REJECTIONS_TABLE, Consumed, TableSpec, undecodable_row

log = logging.getLogger("creditstream.sink")


@dataclass
class StoredBatch:
    rows: Counter = field(default_factory=Counter)          # rows sent per table
    dropped: Counter = field(default_factory=Counter)       # replays dropped by event id, per table
    undecodable: int = 0
    # Event ids stored in the guarded table, and their offsets, in offset order.
    stored_ids: list[str] = field(default_factory=list)
    stored_offsets: list[int] = field(default_factory=list)

    @property
    def event_ids(self) -> list[tuple[int, str]]:
        return list(zip(self.stored_offsets, self.stored_ids))


class BatchStore:
    def __init__(self, client, database: str, metrics: SinkMetrics):
        self.client = client
        self.database = database
        self.metrics = metrics
        self._table_columns: dict[str, set[str]] = {}
        self._passthrough_columns: dict[tuple[str, int], list[str]] = {}
        self.chain_heads: dict[tuple[str, int], str] = {}  # hash of the last row chained per partition

    def load_chain_head(self, spec: TableSpec, partition: int, start: int) -> None:
        """Where the chain of a newly assigned partition resumes: the hash of the stored row just
        before the first offset to be read (rows past it, stored but not committed, are read again
        and get the same hashes)."""
        rows = self.client.query(
            f"SELECT hash FROM {self.database}.{spec.table} WHERE kafka_topic = {{topic:String}} "
            "AND kafka_partition = {partition:UInt16} AND kafka_offset < {start:UInt64} "
            "ORDER BY kafka_offset DESC LIMIT 1",
            parameters={"topic": spec.topic, "partition": partition, "start": start}).result_rows
        self.chain_heads[(spec.topic, partition)] = rows[0][0] if rows else GENESIS

    # -- inserts -------------------------------------------------------------------------------
    def _timed(self, table: str, insert, *args, **kwargs) -> None:
        started = time.perf_counter()
        insert(*args, **kwargs)
        self.metrics.insert_seconds.labels(table).observe(time.perf_counter() - started)

    def _insert_rows(self, table: str, rows: list[list], columns: list[str], token: str) -> None:
        self._timed(table, self.client.insert, f"{self.database}.{table}", rows, column_names=columns,
                    settings={"insert_deduplication_token": token})

    def _columns_of(self, table: str) -> set[str]:
        if table not in self._table_columns:
            rows = self.client.query(
                "SELECT name FROM system.columns WHERE database = {db:String} AND table = {table:String}",
                parameters={"db": self.database, "table": table}).result_rows
            self._table_columns[table] = {r[0] for r in rows}
        return self._table_columns[table]

    def _passthrough_insert_columns(self, table: str, schema_id: int, schema_text: str) -> list[str]:
        key = (table, schema_id)
        if key not in self._passthrough_columns:
            known = self._columns_of(table)
            fields = schema_field_names(schema_text)
            missing = [f for f in fields if f not in known]
            if missing:  # stored without them rather than not at all; a migration should add them
                log.warning("table %s has no column for field(s) %s of schema id %s", table, missing, schema_id)
            self._passthrough_columns[key] = COORDINATE_COLUMNS + [f for f in fields if f in known]
        return self._passthrough_columns[key]

    # -- one batch -----------------------------------------------------------------------------
    def store(self, batch: PartitionBatch, spec: TableSpec, seen: RecentEventIds | None) -> StoredBatch:
        result = StoredBatch()
        undecodable: list[tuple[Consumed, str]] = []
        if seen is not None:
            seen.advance_to(batch.offset_range[0])
        if spec.passthrough:
            self._store_passthrough(batch, spec, seen, result, undecodable)
        else:
            self._store_decoded(batch, spec, seen, result, undecodable)
        if undecodable:
            rows = [undecodable_row(batch.topic, batch.partition, m.offset, reason)
                    + [batch.topic, batch.partition, m.offset] for m, reason in undecodable]
            self._insert_rows(REJECTIONS_TABLE, rows, REJECTION_INSERT_COLUMNS, batch.token("undecodable"))
            result.undecodable = len(rows)
            result.rows[REJECTIONS_TABLE] += len(rows)
            if spec.table == REJECTIONS_TABLE:
                result.stored_ids += [row[0] for row in rows]
                result.stored_offsets += [row[-1] for row in rows]
        return result

    def _store_decoded(self, batch, spec, seen, result, undecodable) -> None:
        decode = codec(spec.record).decode
        entries = []
        for msg in batch.messages:
            try:
                record = None if (msg.value is None and spec.tombstones) else decode(msg.value)
                row = spec.to_row(record, msg)
            except (UndecodableMessage, KeyError, TypeError, ValueError) as exc:
                undecodable.append((msg, f"{type(exc).__name__}: {exc}"))
                continue
            entries.append((row[0], row + [batch.topic, batch.partition, msg.offset]))
        if spec.event_ids:
            fresh, dropped = first_seen(entries, seen)
            result.dropped[spec.table] += dropped
        else:
            fresh = entries
        if spec.event_ids:  # offsets read before chaining appends the two hash columns
            result.stored_ids += [eid for eid, _ in fresh]
            result.stored_offsets += [row[-1] for _, row in fresh]
        if spec.chained:
            fresh = self._chained(batch, fresh)
        if fresh:
            self._insert_rows(spec.table, [row for _, row in fresh], spec.insert_columns, batch.token(spec.table))
            result.rows[spec.table] += len(fresh)

    def _chained(self, batch: PartitionBatch, entries: list) -> list:
        """Each row with its previous hash and hash, computed once per batch: a retry stores the
        same links, and the partition's head moves on only once."""
        if batch.chain is None:
            key = (batch.topic, batch.partition)
            batch.chain = chain(self.chain_heads.get(key, GENESIS), [(row[:-3], row[-2], row[-1]) for _, row in entries])
            if batch.chain:
                self.chain_heads[key] = batch.chain[-1][1]
        return [(eid, row + list(links)) for (eid, row), links in zip(entries, batch.chain)]

    def _store_passthrough(self, batch, spec, seen, result, undecodable) -> None:
        prepared = batch.prepared or prepare_passthrough(batch, spec)
        undecodable.extend(prepared.undecodable)
        guarded = spec.event_ids
        batch_ids: set[str] = set()
        dropped = 0
        stored_at, floor, ceiling = (seen.stored_at, seen.floor, seen.ceiling) if seen is not None else ({}, 0, 0)
        for schema_id, items in sorted(prepared.groups.items()):
            if guarded:  # the replay check: the one per-message step that depends on what is stored
                group = []
                for item in items:
                    event_id = item[0]
                    offset = stored_at.get(event_id)
                    if event_id in batch_ids or (offset is not None and floor <= offset < ceiling):
                        dropped += 1
                        continue
                    batch_ids.add(event_id)
                    group.append(item)
            else:
                group = items
            stored = self._insert_passthrough(batch, spec, schema_id, group, undecodable)
            result.rows[spec.table] += len(stored)
            if guarded:
                result.stored_ids += [eid for eid, _, _ in stored]
                result.stored_offsets += [msg.offset for _, msg, _ in stored]
        result.dropped[spec.table] += dropped

    def _insert_passthrough(self, batch, spec, schema_id, group, undecodable):
        writer = catalog().by_id(schema_id)
        columns = self._passthrough_insert_columns(spec.table, schema_id, writer.text)
        layout = container_format(writer.text)
        token = batch.token(f"{spec.table}:{schema_id}")
        for attempt in (1, 2):
            data = layout.container([record for _, _, record in group], len(group))
            try:
                self._timed(spec.table, self.client.raw_insert, f"{self.database}.{spec.table}", columns, data,
                            fmt="Avro", settings={"insert_deduplication_token": token})
                return group
            except (OperationalError, ConnectionError, OSError):
                raise  # unavailable: the caller retries the whole batch later
            except Exception:
                # ClickHouse refused the data. Find the bodies it cannot read (checked only now: a
                # full decode per message is the cost pass-through avoids); store the rest. The
                # split depends only on the bytes, so a replay makes the same insert.
                bad = _unreadable(spec.record, group) if attempt == 1 else []
                if not bad:
                    raise
                undecodable.extend((m, reason) for m, reason in bad.values())
                group = [item for item in group if item[1].offset not in bad]
                if not group:
                    return []
        return group


@dataclass
class PreparedBatch:
    """A pass-through batch parsed once: per writer schema, (event id, message, the Avro record of the
    container: coordinates, then the body as it came)."""

    groups: dict[int, list[tuple[str | None, Consumed, bytes]]]
    undecodable: list[tuple[Consumed, str]]


def prepare_passthrough(batch: PartitionBatch, spec: TableSpec) -> PreparedBatch:
    """Everything per message that depends only on the message: header, writer schema, event id,
    the encoded coordinates. A function of the bytes, so it can run as soon as the batch is cut (on
    the reading thread, while the previous round is inserted) and gives the same result on a retry."""
    by_id, record, guarded = catalog().by_id, spec.record, spec.event_ids
    prefix = coordinates_prefix(batch.topic, batch.partition)
    groups: dict[int, list] = defaultdict(list)
    undecodable: list[tuple[Consumed, str]] = []
    last_id, last_ok = None, False
    for msg in batch.messages:
        value = msg.value
        if value is None or len(value) < HEADER_SIZE or value[0] != MAGIC:
            undecodable.append((msg, "not in the Confluent wire format"))
            continue
        schema_id = int.from_bytes(value[1:HEADER_SIZE], "big")
        if schema_id != last_id:
            writer = by_id(schema_id)
            last_id, last_ok = schema_id, writer is not None and writer.name == record
        if not last_ok:
            undecodable.append((msg, f"schema id {schema_id} is not a {record}"))
            continue
        event_id = None
        if guarded:
            event_id = leading_string(value, HEADER_SIZE)
            if event_id is None:
                undecodable.append((msg, "event id cannot be read"))
                continue
        groups[last_id].append((event_id, msg, prefix + zigzag_varint(msg.offset) + value[HEADER_SIZE:]))
    return PreparedBatch(dict(groups), undecodable)


def _unreadable(record: str, group: list[tuple[str | None, Consumed, bytes]]) -> dict[int, tuple[Consumed, str]]:
    decode = codec(record).decode
    bad = {}
    for _, msg, _ in group:
        try:
            decode(msg.value)
        except UndecodableMessage as exc:
            bad[msg.offset] = (msg, str(exc))
    return bad
