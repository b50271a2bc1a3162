"""Schema Registry mode: the registry's ids, ids of other producers looked up there, and the
`creditstream schemas register` command, against confluent-kafka's in-memory registry."""
from __future__ import annotations

import json

import pytest
from confluent_kafka.schema_registry import Schema
from confluent_kafka.schema_registry._sync.mock_schema_registry_client import MockSchemaRegistryClient
from typer.testing import CliRunner

from avro_schemas import codec as codec_module
from avro_schemas.catalog import SchemaVersion, parse
from avro_schemas.codec import CREDIT_EVENT, Codec, UndecodableMessage, catalog
from avro_schemas.registry import registry_catalog
from creditstream.cli import app
from creditstream.settings import get_settings

EVENT_V1 = catalog().latest(CREDIT_EVENT)
SAMPLE_EVENT = {"event_id": "e1", "source_unit": "COURT-420200", "catalog": "COURT-SXBZXR", "category": "COURT_DISHONEST",
                "reporting_mode": "INTERFACE", "source_format": "json", "reported_at": 1_795_000_000_000,
                "subject": {"type": "NATURAL_PERSON", "id_number": "3423011964****3224", "name": "张三"},
                "decision": {"document_number": "（2026）鄂02执123号"}, "matter": {"name": "失信被执行人"}}


def newer_event_schema() -> SchemaVersion:
    schema = json.loads(EVENT_V1.text)
    schema["fields"].append({"name": "batch_id", "type": ["null", "string"], "default": None, "doc": "批次 batch"})
    text = json.dumps(schema, ensure_ascii=False)
    return SchemaVersion(CREDIT_EVENT, 2, 0, text, parse(text))


@pytest.fixture
def registry():
    client = MockSchemaRegistryClient({"url": "mock://registry"})
    return client, registry_catalog("mock://registry", client=client)


def test_a_newer_version_written_by_another_producer_is_fetched_and_read(registry):
    client, schemas = registry
    newer = newer_event_schema()
    newer_id = client.register_schema(CREDIT_EVENT, Schema(newer.text, "AVRO"))
    other_producer = Codec(CREDIT_EVENT, type(schemas)([SchemaVersion(CREDIT_EVENT, 2, newer_id, newer.text, newer.parsed)]))
    record = codec_module.codec(CREDIT_EVENT).decode(codec_module.codec(CREDIT_EVENT).encode(SAMPLE_EVENT))
    record["batch_id"] = "B-7"

    decoded = Codec(CREDIT_EVENT, schemas).decode(other_producer.encode(record))
    record.pop("batch_id")  # our reader is v1: the field it does not know is skipped
    assert decoded == record


def test_an_id_the_registry_does_not_know_is_undecodable(registry):
    _, schemas = registry
    ours = Codec(CREDIT_EVENT, schemas)
    with pytest.raises(UndecodableMessage, match="unknown schema id 9999"):
        ours.decode(b"\x00\x00\x00\x27\x0f" + b"\x00" * 30)


def test_the_process_catalog_follows_the_setting(monkeypatch):
    monkeypatch.setenv("CREDITSTREAM_SCHEMA_REGISTRY_URL", "mock://from-settings")
    get_settings.cache_clear()
    codec_module.catalog.cache_clear()
    try:
        assert codec_module.catalog().latest(CREDIT_EVENT).schema_id != EVENT_V1.schema_id
    finally:
        monkeypatch.delenv("CREDITSTREAM_SCHEMA_REGISTRY_URL")
        get_settings.cache_clear()
        codec_module.catalog.cache_clear()
    assert codec_module.catalog().latest(CREDIT_EVENT).schema_id == EVENT_V1.schema_id


def test_register_command_lists_every_version_with_both_ids():
    result = CliRunner().invoke(app, ["schemas", "register", "--url", "mock://cli"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    rows = [line.split("│")[1:5] for line in result.output.splitlines() if line.startswith("│")]
    listed = {(subject.strip(), version.strip(), manifest_id.strip()) for subject, version, _, manifest_id in rows}
    assert listed == {(sv.name, f"v{sv.version}", str(sv.schema_id)) for sv in catalog().versions()}


def test_register_command_without_a_registry_says_so(monkeypatch):
    monkeypatch.delenv("CREDITSTREAM_SCHEMA_REGISTRY_URL", raising=False)
    result = CliRunner().invoke(app, ["schemas", "register"])
    assert result.exit_code == 2
    assert "CREDITSTREAM_SCHEMA_REGISTRY_URL" in result.output


def test_register_command_reports_an_unreachable_registry():
    result = CliRunner().invoke(app, ["schemas", "register", "--url", "http://127.0.0.1:9"])
    assert result.exit_code == 1
    assert "Schema Registry at http://127.0.0.1:9" in result.output
