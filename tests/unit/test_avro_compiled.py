"""The compiled Avro codecs write the same bytes as fastavro and read back what was written."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from avro_schemas.codec import CREDIT_EVENT, UndecodableMessage, catalog, codec
from avro_schemas import compiled
from avro_schemas.compiled import compile_codec, read_long, write_long

# Every schema: the stream's codecs and, through producers.record_encoder, every producer's.
NAMES = catalog().names()
text = st.text(max_size=12)


def strategy(schema, named):
    """Records of a parsed schema; logical values as numbers (what the stream writes)."""
    if isinstance(schema, str) and schema in named:
        schema = named[schema]
    if isinstance(schema, list):
        return st.one_of(*[strategy(s, named) for s in schema])
    kind = schema if isinstance(schema, str) else schema["type"]
    logical = schema.get("logicalType") if isinstance(schema, dict) else None
    if logical == "date":
        return st.integers(-30000, 60000)
    if logical == "timestamp-millis":
        return st.integers(-2**40, 2**42)
    return {
        "null": lambda: st.none(), "boolean": st.booleans, "string": lambda: text, "bytes": st.binary,
        "int": lambda: st.integers(-2**31, 2**31 - 1), "long": lambda: st.integers(-2**63, 2**63 - 1),
        "double": lambda: st.floats(allow_nan=False), "enum": lambda: st.sampled_from(schema["symbols"]),
        "array": lambda: st.lists(strategy(schema["items"], named), max_size=3),
        "map": lambda: st.dictionaries(text, strategy(schema["values"], named), max_size=3),
        "record": lambda: st.fixed_dictionaries({f["name"]: strategy(f["type"], named) for f in schema["fields"]}),
    }[kind]()


def as_numbers(value):
    """fastavro reads logical types as dates and datetimes; the compiled reader keeps numbers."""
    if isinstance(value, datetime):
        return round((value - datetime(1970, 1, 1, tzinfo=timezone.utc)).total_seconds() * 1000)
    if isinstance(value, date):
        return (value - date(1970, 1, 1)).days
    if isinstance(value, dict):
        return {k: as_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [as_numbers(v) for v in value]
    return value


@pytest.mark.parametrize("name", NAMES)
def test_every_schema_compiles(name):
    assert compile_codec(codec(name)) is not None


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_same_bytes_as_fastavro_and_a_faithful_read(name, data):
    reference = codec(name)
    compiled = compile_codec(reference)
    parsed = reference.writer.parsed
    record = data.draw(strategy(parsed, parsed.get("__named_schemas", {})))
    encoded = compiled.encode(record)
    assert encoded == reference.encode(record)
    assert compiled.decode(encoded) == as_numbers(reference.decode(encoded))


@given(st.integers(-2**63, 2**63 - 1))
def test_longs_round_trip(n):
    assert read_long(write_long(n), 0) == (n, len(write_long(n)))


def test_remembered_timestamps_stay_bounded_and_exact():
    start = 1_764_547_200_000  # millis: past the precomputed small longs, so they are remembered
    for n in range(start, start + 10_000):
        assert read_long(write_long(n), 0) == (n, len(write_long(n)))
        assert len(compiled._RECENT_LONGS) <= 4096
    assert write_long(start + 9_999) == compiled._varint(start + 9_999)


@pytest.mark.parametrize("data", [b"", b"\x00\x00\x00\x00", b"\x01\x00\x00\x00\x65\x00", b"\x00\x00\x00\x00\x65\x02",
                                  b"\x00\x00\x00\x00\x65" + b"\xff" * 30])
def test_bad_messages_are_undecodable_not_crashes(data):
    with pytest.raises(UndecodableMessage):
        compile_codec(codec(CREDIT_EVENT)).decode(data)
