"""Our bytes are confluent-kafka's bytes: its AvroSerializer writes exactly what our codec writes for
the same schema id, and its AvroDeserializer reads what our codec writes."""
from __future__ import annotations

import json

import pytest
from confluent_kafka.schema_registry import RegisteredSchema, Schema
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.schema_registry._sync.mock_schema_registry_client import MockSchemaRegistryClient
from confluent_kafka.serialization import MessageField, SerializationContext
from hypothesis import given, settings
from hypothesis import strategies as st

from avro_schemas.codec import Codec, catalog, codec
from avro_schemas.registry import register, registry_catalog, registry_schema, subject_for
from avro_schemas.strategies import records

NAMES = catalog().names()
CONTEXT = SerializationContext("credit.any", MessageField.VALUE)
SERDE_CONF = {"subject.name.strategy": lambda ctx, record_name: record_name}


class PinnedIdRegistry(MockSchemaRegistryClient):
    """An in-memory registry that answers with the manifest's id: only here to hand the
    serializer the same id our embedded default uses."""

    def register_schema_full_response(self, subject_name, schema, normalize_schemas=False):
        pinned = catalog().latest(subject_name)
        assert json.loads(schema.schema_str) == json.loads(pinned.text)
        return RegisteredSchema(schema_id=pinned.schema_id, guid=None, schema=schema, subject=subject_name, version=1)


@pytest.fixture(scope="module")
def serializers():
    client = PinnedIdRegistry({"url": "mock://pinned"})
    return {name: AvroSerializer(client, catalog().latest(name).text, conf=SERDE_CONF) for name in NAMES}


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_bytes_identical_to_confluent_avro_serializer(serializers, name, data):
    record = data.draw(records(catalog().latest(name)))
    assert codec(name).encode(record) == serializers[name](record, CONTEXT)


@pytest.fixture(scope="module")
def registry_mode():
    """Our codec in Schema Registry mode, and confluent's serde, sharing one in-memory registry."""
    client = MockSchemaRegistryClient({"url": "mock://shared"})
    schemas = registry_catalog("mock://shared", client=client)
    return client, {name: Codec(name, schemas) for name in NAMES}


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_registry_mode_interoperates_with_confluent_serde(registry_mode, name, data):
    client, codecs = registry_mode
    record = data.draw(records(catalog().latest(name)))
    ours = codecs[name].encode(record)
    assert ours == AvroSerializer(client, catalog().latest(name).text, conf=SERDE_CONF)(record, CONTEXT)
    assert AvroDeserializer(client)(ours, CONTEXT) == record


def test_registry_mode_uses_the_registry_ids_not_the_manifest_ids():
    client = MockSchemaRegistryClient({"url": "mock://ids"})
    client.register_schema("unrelated", Schema('{"type": "string"}', "AVRO"))  # ids go on from where the registry is
    schemas = registry_catalog("mock://ids", client=client)
    for name in NAMES:
        registered = client.lookup_schema(subject_for(name), registry_schema(catalog().latest(name)))
        assert schemas.latest(name).schema_id == registered.schema_id
    assert {schemas.latest(n).schema_id for n in NAMES}.isdisjoint({catalog().latest(n).schema_id for n in NAMES})


def test_registering_twice_keeps_the_ids():
    client = MockSchemaRegistryClient({"url": "mock://twice"})
    first = register(client, catalog().versions())
    assert register(client, catalog().versions()) == first
