"""Bad input is UndecodableMessage, never another exception: the worker turns it into a DLQ record
(tests/integration/test_end_to_end.py follows that path through Kafka)."""
from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from avro_schemas.catalog import SchemaCatalog
from avro_schemas.codec import CREDIT_EVENT, REJECTION, Codec, UndecodableMessage, catalog, codec
from avro_schemas.strategies import records

EVENT = codec(CREDIT_EVENT)
event_records = records(catalog().latest(CREDIT_EVENT))


@settings(max_examples=50, deadline=None)
@given(record=event_records, magic=st.integers(1, 127))
def test_wrong_magic_byte(record, magic):
    encoded = EVENT.encode(record)
    with pytest.raises(UndecodableMessage, match=f"wrong magic byte {magic}"):
        EVENT.decode(bytes([magic]) + encoded[1:])


@settings(max_examples=50, deadline=None)
@given(record=event_records, schema_id=st.integers(0, 2**32 - 1))
def test_unknown_schema_id(record, schema_id):
    if catalog().by_id(schema_id) is not None:
        return
    body = EVENT.encode(record)[5:]
    with pytest.raises(UndecodableMessage, match=f"unknown schema id {schema_id}"):
        EVENT.decode(struct.pack(">bI", 0, schema_id) + body)


def test_an_id_of_another_record_type():
    rejection_id = catalog().latest(REJECTION).schema_id
    with pytest.raises(UndecodableMessage, match="Rejection, expected io.creditstream.CreditEvent"):
        EVENT.decode(struct.pack(">bI", 0, rejection_id) + b"\x00" * 40)


@settings(max_examples=100, deadline=None)
@given(record=event_records, data=st.data())
def test_truncated_message(record, data):
    encoded = EVENT.encode(record)
    cut = data.draw(st.integers(0, len(encoded) - 1))
    with pytest.raises(UndecodableMessage):
        EVENT.decode(encoded[:cut])


@settings(max_examples=50, deadline=None)
@given(record=event_records, extra=st.binary(min_size=1, max_size=8))
def test_trailing_bytes(record, extra):
    with pytest.raises(UndecodableMessage, match="trailing bytes"):
        EVENT.decode(EVENT.encode(record) + extra)


@pytest.mark.parametrize("value", [None, b"", b"\x00\x00\x00"])
def test_empty_or_shorter_than_the_header(value):
    with pytest.raises(UndecodableMessage, match="shorter than the 5-byte header"):
        EVENT.decode(value)


@settings(max_examples=300, deadline=None)
@given(body=st.binary(max_size=300))
def test_arbitrary_bytes_after_a_valid_header_never_raise_anything_else(body):
    header = struct.pack(">bI", 0, catalog().latest(CREDIT_EVENT).schema_id)
    try:
        EVENT.decode(header + body)
    except UndecodableMessage:
        pass


def test_an_id_the_embedded_default_does_not_know_is_not_guessed():
    # A newer writer's id is unknown to a process without a registry: refused, not misread.
    v1 = catalog().latest(CREDIT_EVENT)
    newer = Codec(CREDIT_EVENT, SchemaCatalog([v1.__class__(v1.name, 2, v1.schema_id + 1, v1.text, v1.parsed)]))
    record = {"event_id": "e1", "source_unit": "U", "catalog": "C", "category": "PENALTY", "reporting_mode": "BATCH",
              "source_format": "csv", "reported_at": 0, "subject": {"type": "LEGAL_PERSON"}, "decision": {}, "matter": {}}
    with pytest.raises(UndecodableMessage, match=f"unknown schema id {v1.schema_id + 1}"):
        EVENT.decode(newer.encode(record))
