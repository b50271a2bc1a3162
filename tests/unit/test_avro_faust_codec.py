"""The faust codec: a topic declared with a record's name hands agents dicts and sends dicts as our
wire format, through faust's own serializer path (the one a topic uses)."""
from __future__ import annotations

import faust
import pytest
from faust.exceptions import ValueDecodeError
from faust.serializers import codecs
from hypothesis import given, settings

from avro_schemas.codec import BLACKLIST_ENTRY, CREDIT_EVENT, catalog, codec
from avro_schemas.faust_codec import AvroRecordCodec, register_faust_codecs
from avro_schemas.strategies import records

register_faust_codecs()
app = faust.App("test-avro-codec", broker="kafka://127.0.0.1:9", web_enabled=False)


def test_every_record_type_has_a_codec_named_after_it():
    for name in catalog().names():
        assert isinstance(codecs.get_codec(name), AvroRecordCodec)


@settings(max_examples=50, deadline=None)
@given(record=records(catalog().latest(CREDIT_EVENT)))
def test_agents_send_and_receive_dicts(record):
    sent = app.serializers.dumps_value(None, record, serializer=CREDIT_EVENT)
    assert sent == codec(CREDIT_EVENT).encode(record)
    assert app.serializers.loads_value(None, sent, serializer=CREDIT_EVENT) == record


def test_a_topic_declared_with_the_codec_encodes_with_it():
    topic = app.topic("credit.blacklist", value_serializer=BLACKLIST_ENTRY)
    entry = {"subject_key": "91420200MA4ABCDE1X", "subject_type": "LEGAL_PERSON", "lists": ["TAX_VIOLATION"],
             "basis": [], "status": "SUSPENDED", "updated_at": 0}
    value, _headers = topic.prepare_value(entry, None)  # None: the topic's own serializer
    assert codec(BLACKLIST_ENTRY).decode(value)["status"] == "SUSPENDED"


def test_undecodable_input_reaches_faust_as_a_decode_error():
    with pytest.raises(ValueDecodeError, match="wrong magic byte"):
        app.serializers.loads_value(None, b"\x01\x00\x00\x00\x65", serializer=CREDIT_EVENT)


def test_chaining_keeps_the_record_type():
    chained = codecs.get_codec(CREDIT_EVENT) | codecs.get_codec("binary")
    record = {"event_id": "e", "source_unit": "U", "catalog": "C", "category": "LICENCE", "reporting_mode": "BATCH",
              "source_format": "csv", "reported_at": 0, "subject": {"type": "LEGAL_PERSON"}, "decision": {}, "matter": {}}
    assert chained.loads(chained.dumps(record))["event_id"] == "e"
