"""The container the sink hands to ClickHouse is real Avro: any Avro reader reads it back, with the
Kafka coordinates in front of the unchanged record."""
from __future__ import annotations

import io

import fastavro
from hypothesis import given, strategies as st

from avro_schemas.codec import HEADER_SIZE, VALIDATED_RECORD, catalog, codec
from sinks.avro_passthrough import (container_format, coordinates_prefix, leading_string, read_long, zigzag_varint)


@given(st.integers(min_value=-(2 ** 63), max_value=2 ** 63 - 1))
def test_varint_matches_avro_long(n):
    buf = io.BytesIO()
    fastavro.schemaless_writer(buf, {"type": "long"}, n)
    assert zigzag_varint(n) == buf.getvalue()
    assert read_long(buf.getvalue(), 0) == (n, len(buf.getvalue()))


@given(st.text())
def test_leading_string_reads_an_avro_string(text):
    buf = io.BytesIO()
    fastavro.schemaless_writer(buf, {"type": "string"}, text)
    assert leading_string(buf.getvalue() + b"rest", 0) == text


def test_leading_string_refuses_bytes_that_cannot_hold_one():
    assert leading_string(b"\x40ab", 0) is None  # says 32 bytes, has 2
    assert leading_string(b"", 0) is None
    assert leading_string(b"\x03", 0) is None   # negative length


def sample_record(i: int) -> dict:
    return {
        "event_id": f"e{i}", "source_unit": "tax", "catalog": "cat", "category": "PENALTY", "reporting_mode": "BATCH",
        "source_format": "csv", "reported_at": 1_700_000_000_000 + i, "processed_at": 1_700_000_000_500,
        "subject_type": "LEGAL_PERSON", "subject_key": "91350100M000100Y43", "subject_key_kind": "USCC",
        "raw": {"k": "v"}, "prohibited_dropped": [], "late": False,
    }


def test_container_reads_back_with_coordinates():
    sv = catalog().latest(VALIDATED_RECORD)
    encode = codec(VALIDATED_RECORD).encode
    prefix = coordinates_prefix("credit.records", 3)
    parts = []
    for i in range(3):
        parts += (prefix, zigzag_varint(1000 + i), memoryview(encode(sample_record(i)))[HEADER_SIZE:])
    data = container_format(sv.text).container(parts, 3)
    assert data == container_format(sv.text).container(parts, 3), "same batch, same bytes"
    read = list(fastavro.reader(io.BytesIO(data)))
    assert [(r["kafka_topic"], r["kafka_partition"], r["kafka_offset"], r["event_id"]) for r in read] == [
        ("credit.records", 3, 1000, "e0"), ("credit.records", 3, 1001, "e1"), ("credit.records", 3, 1002, "e2")]
    assert read[1]["raw"] == {"k": "v"} and read[1]["category"] == "PENALTY"
