"""Every released schema: records survive the wire format unchanged, and the header is Confluent's."""
from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from avro_schemas.codec import CREDIT_EVENT, codec, catalog
from avro_schemas.strategies import records

NAMES = catalog().names()


def test_every_record_type_of_the_contract_is_released():
    assert {n.rsplit(".", 1)[1] for n in NAMES} >= {
        "CreditEvent", "ValidatedRecord", "Rejection", "BlacklistEntry", "CheckRecord", "ZeroReport"}


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_round_trip(name, data):
    writer = catalog().latest(name)
    record = data.draw(records(writer))
    encoded = codec(name).encode(record)
    magic, schema_id = struct.unpack(">bI", encoded[:5])
    assert (magic, schema_id) == (0, writer.schema_id)
    assert codec(name).decode(encoded) == record


def test_missing_optional_fields_take_their_defaults():
    # Adapters write only what they have; the nested records' absent fields become null, the
    # raw map empty.
    event = {"event_id": "e1", "source_unit": "TAX-420200", "catalog": "TAX-ZDSS", "category": "TAX_VIOLATION",
             "reporting_mode": "INTERFACE", "source_format": "json", "reported_at": 0,
             "subject": {"type": "LEGAL_PERSON", "uscc": "91420200MA4ABCDE1X"}, "decision": {}, "matter": {}}
    decoded = codec(CREDIT_EVENT).decode(codec(CREDIT_EVENT).encode(event))
    assert decoded["subject"]["id_number"] is None
    assert decoded["subject"]["other_ids"] == {}
    assert decoded["decision"] == {k: None for k in decoded["decision"]}
    assert decoded["raw"] == {} and decoded["reported_by"] is None
