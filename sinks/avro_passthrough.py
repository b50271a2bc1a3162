"""Hand Avro bodies to ClickHouse as they came from Kafka, so the sink never decodes them in Python.

Decoding a record with fastavro costs 10-40 µs, several times the cost of storing it (RUNTIME.md);
ClickHouse reads Avro natively (``FORMAT Avro``: an object container file). A container is a
header (the writer's schema) plus blocks of concatenated record bodies, so the sink builds one by
slicing off each message's 5-byte Confluent header and joining the bodies.

The Kafka coordinates travel inside each record: the container's schema is the writer's record
with three leading fields (kafka_topic, kafka_partition, kafka_offset). An Avro record is the
concatenation of its fields, so prefixing a body with their encodings makes it a record of the
wider schema; ClickHouse maps fields to columns by name.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import lru_cache

COORDINATE_FIELDS = [
    {"name": "kafka_topic", "type": "string"},
    {"name": "kafka_partition", "type": "int"},
    {"name": "kafka_offset", "type": "long"},
]
COORDINATE_COLUMNS = [f["name"] for f in COORDINATE_FIELDS]


def zigzag_varint(n: int) -> bytes:
    """Avro's int/long encoding."""
    n = (n << 1) ^ (n >> 63)
    out = bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def avro_string(text: str | bytes) -> bytes:
    data = text.encode() if isinstance(text, str) else text
    return zigzag_varint(len(data)) + data


def read_long(data: bytes, pos: int) -> tuple[int, int]:
    """One zigzag varint at ``pos``: (value, position after it). Raises IndexError when cut short."""
    shift = result = 0
    while True:
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return (result >> 1) ^ -(result & 1), pos
        shift += 7
        if shift > 63:
            raise ValueError("varint longer than 10 bytes")


def leading_string(data: bytes, pos: int) -> str | None:
    """The string field at ``pos`` (the event id leads ValidatedRecord and Rejection), or None when
    the bytes cannot hold one: the whole body is checked later, by ClickHouse or fastavro."""
    try:
        first = data[pos]
        if first < 0x80:  # a length under 64 fits one byte: the usual case, read without a loop
            if first & 1:
                return None
            length, start = first >> 1, pos + 1
        else:
            length, start = read_long(data, pos)
        end = start + length
        if length < 0 or end > len(data):
            return None
        return data[start:end].decode()
    except (IndexError, ValueError, UnicodeDecodeError):
        return None


@dataclass(frozen=True)
class ContainerFormat:
    """The object container layout for one writer schema, with the coordinates prepended."""

    header: bytes
    sync: bytes

    def container(self, parts: list, count: int) -> bytes:
        """One data block holding ``count`` records, given as the byte pieces that make them."""
        data = b"".join(parts)
        return b"".join([self.header, zigzag_varint(count), zigzag_varint(len(data)), data, self.sync])


@lru_cache(maxsize=64)
def container_format(writer_schema_text: str) -> ContainerFormat:
    schema = json.loads(writer_schema_text)
    wide = dict(schema, fields=COORDINATE_FIELDS + list(schema["fields"]))
    schema_json = json.dumps(wide, ensure_ascii=False).encode()
    # Derived from the schema, so the same batch always makes the same bytes.
    sync = hashlib.blake2b(schema_json, digest_size=16).digest()
    meta = {b"avro.schema": schema_json, b"avro.codec": b"null"}
    header = bytearray(b"Obj\x01")
    header += zigzag_varint(len(meta))
    for key, value in meta.items():
        header += avro_string(key) + zigzag_varint(len(value)) + value
    header += b"\x00" + sync
    return ContainerFormat(bytes(header), sync)


def coordinates_prefix(topic: str, partition: int) -> bytes:
    """The topic and partition part of the prefix; the offset is appended per message."""
    return avro_string(topic) + zigzag_varint(partition)


def schema_field_names(writer_schema_text: str) -> list[str]:
    return [f["name"] for f in json.loads(writer_schema_text)["fields"]]
