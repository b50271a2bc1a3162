"""The worker's tables: in-memory maps per inbound partition, each backed by a compacted
changelog topic, written in the same Kafka transaction as the outputs and the consumer offsets.

They work as faust's tables do (state partitioned like the source topic, restored from the
changelog when a partition is assigned), without faust's per-event machinery: a batch reads
and writes through a pending overlay, which becomes the table's state when the transaction
commits and is thrown away when it aborts — so state, outputs and offsets never disagree.
"""
from __future__ import annotations

import copy
import json
import struct
from typing import Callable, Iterator

from creditstream.domain.dedup import Sighting
from creditstream.topics import STATE_LISTS, STATE_SIGHTINGS, STATE_UNIT_COUNTS

_DELETED = object()


class ChangelogTable:
    """`encode`/`decode`: a value to and from its changelog bytes; `key_bytes`/`key_of`: a key to
    and from its changelog key (text keys by default)."""

    def __init__(self, name: str, topic: str, encode: Callable[[object], bytes],
                 decode: Callable[[bytes], object], key_bytes: Callable[[object], bytes] = str.encode,
                 key_of: Callable[[bytes], object] = bytes.decode):
        self.name = name
        self.topic = topic
        self.encode = encode
        self.decode = decode
        self.key_bytes = key_bytes
        self.key_of = key_of
        self.data: dict[int, dict[str, object]] = {}
        self.pending: dict[tuple[int, str], object] = {}

    def get(self, partition: int, key: str):
        value = self.pending.get((partition, key), _DELETED)
        if value is not _DELETED:
            return value
        part = self.data.get(partition)
        return part.get(key) if part else None

    def put(self, partition: int, key: str, value) -> None:
        """Set (or with None, delete) a key in this batch."""
        self.pending[(partition, key)] = value

    def for_update(self, partition: int, key: str, factory: Callable[[], object]):
        """A value the batch may change in place: a copy, so an aborted batch leaves no trace."""
        pk = (partition, key)
        if pk not in self.pending:
            current = self.get(partition, key)
            self.pending[pk] = copy.deepcopy(current) if current is not None else factory()
        return self.pending[pk]

    def changes(self) -> Iterator[tuple[int, bytes, bytes | None]]:
        """(partition, key, value or tombstone) of every key the batch set."""
        for (partition, key), value in self.pending.items():
            yield partition, self.key_bytes(key), None if value is None else self.encode(value)

    def commit(self) -> None:
        for (partition, key), value in self.pending.items():
            part = self.data.setdefault(partition, {})
            if value is None:
                part.pop(key, None)
            else:
                part[key] = value
        self.pending.clear()

    def abort(self) -> None:
        self.pending.clear()

    def load(self, partition: int, key: bytes, value: bytes | None) -> None:
        """One changelog message, read while restoring a partition."""
        part = self.data.setdefault(partition, {})
        if value is None:
            part.pop(self.key_of(key), None)
        else:
            part[self.key_of(key)] = self.decode(value)

    def drop(self, partitions) -> None:
        for partition in partitions:
            self.data.pop(partition, None)

    def items(self, partition: int):
        return list((self.data.get(partition) or {}).items())

    def __len__(self) -> int:
        return sum(len(p) for p in self.data.values())


def _json(value) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


# Sightings are the one table that grows with every new record (1.56 M keys for the largest
# file), so memory holds them packed: the natural key's digest as raw bytes (12, not a 24-char
# string) and the sighting as one small bytes object. The changelog keeps the readable text
# ("<hex key>" -> "<event id>:<partition>:<offset>:<day>"); only memory is packed.
_SIGHTING = struct.Struct("<HqI")  # partition, offset, day
_HEX_ID, _TEXT_ID = b"\x00", b"\x01"


def natural_key_bytes(natural_key: str) -> bytes | str:
    """The in-memory key of a natural key: its hex digest as raw bytes; any other text as it is."""
    try:
        digest = bytes.fromhex(natural_key)
    except ValueError:
        return natural_key
    return digest if digest.hex() == natural_key else natural_key  # exactly what it was, written back


def natural_key_text(key: bytes | str) -> bytes:
    """The changelog key of an in-memory key: the inverse of natural_key_bytes."""
    return key.hex().encode() if isinstance(key, bytes) else key.encode()


def _natural_key_of_changelog(key: bytes) -> bytes:
    return natural_key_bytes(key.decode())


def pack_sighting(s: Sighting) -> bytes:
    head = _SIGHTING.pack(s.partition, s.offset, s.day)
    if len(s.event_id) == 32:
        try:  # the adapters' event ids: 16-byte digests in hex
            return _HEX_ID + head + bytes.fromhex(s.event_id)
        except ValueError:
            pass
    return _TEXT_ID + head + s.event_id.encode()


def unpack_sighting(data: bytes) -> Sighting:
    partition, offset, day = _SIGHTING.unpack_from(data, 1)
    rest = data[1 + _SIGHTING.size:]
    event_id = rest.hex() if data[:1] == _HEX_ID else rest.decode()
    return Sighting(event_id, partition, offset, day)


def sighting_bytes(s: Sighting) -> bytes:
    """A sighting's changelog value."""
    return f"{s.event_id}:{s.partition}:{s.offset}:{s.day}".encode()


def sighting_of(data: bytes) -> Sighting:
    event_id, partition, offset, day = data.decode().rsplit(":", 3)
    return Sighting(event_id, int(partition), int(offset), int(day))


def _sighting_to_changelog(packed: bytes) -> bytes:
    return sighting_bytes(unpack_sighting(packed))


def _sighting_from_changelog(data: bytes) -> bytes:
    return pack_sighting(sighting_of(data))


class StreamTables:
    """The three tables of the stream worker, by faust's naming (key_to_value)."""

    def __init__(self):
        # natural record key -> first Sighting: replays and cross-unit duplicates (bounded retention).
        # Keys are natural_key_bytes, values pack_sighting: packed, read back only when a key comes
        # again (see above).
        self.natural_key_to_sighting = ChangelogTable(
            "natural_key_to_sighting", STATE_SIGHTINGS, _sighting_to_changelog, _sighting_from_changelog,
            key_bytes=natural_key_text, key_of=_natural_key_of_changelog)
        # "black|<subject>" / "red|<subject>" -> the subject's list state (every basis, its status)
        self.subject_to_list_state = ChangelogTable("subject_to_list_state", STATE_LISTS, _json, json.loads)
        # "<unit>|<day>" -> counts of that unit's events on that day, for this partition
        self.unit_day_to_counts = ChangelogTable("unit_day_to_counts", STATE_UNIT_COUNTS, _json, json.loads)
        self.all = (self.natural_key_to_sighting, self.subject_to_list_state, self.unit_day_to_counts)

    def commit(self) -> None:
        for table in self.all:
            table.commit()

    def abort(self) -> None:
        for table in self.all:
            table.abort()

    def drop(self, partitions) -> None:
        for table in self.all:
            table.drop(partitions)

    def by_topic(self) -> dict[str, ChangelogTable]:
        return {t.topic: t for t in self.all}
