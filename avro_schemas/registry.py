"""Schemas in a Confluent Schema Registry: register the released versions, use the registry's ids.

Subjects follow the record-name strategy (subject = the record's full name), because this
package knows schemas, not topics; a Confluent deserializer only needs the id in each message.
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import fastavro
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.error import SchemaRegistryError
from confluent_kafka.schema_registry.schema_registry_client import ConfigCompatibilityLevel, ServerConfig

from avro_schemas.catalog import SCHEMA_DIR, SchemaCatalog, SchemaVersion, parse, released_versions

AVRO = "AVRO"


def subject_for(name: str) -> str:
    return name


def connect(url: str) -> SchemaRegistryClient:
    # new_client gives the in-memory mock for mock:// URLs, which the tests use.
    return SchemaRegistryClient.new_client({"url": url})


def register(client: SchemaRegistryClient, versions: list[SchemaVersion]) -> list[SchemaVersion]:
    """Register every version, oldest first, under a BACKWARD subject; return them with the
    registry's ids. Registering a schema the subject already holds returns its existing id."""
    registered = []
    configured: set[str] = set()
    for sv in sorted(versions, key=lambda v: (v.name, v.version)):
        subject = subject_for(sv.name)
        if subject not in configured:
            # The registry then refuses what `creditstream schemas check` refuses locally.
            client.set_config(subject, ServerConfig(compatibility=ConfigCompatibilityLevel.BACKWARD))
            configured.add(subject)
        schema_id = client.register_schema(subject, registry_schema(sv))
        registered.append(replace(sv, schema_id=schema_id))
    return registered


def registry_schema(sv: SchemaVersion) -> Schema:
    # Stripped as confluent's serializers strip it, so a registry that compares text (the mock
    # does) finds the same schema whether we or they register it first.
    return Schema(sv.text.strip(), AVRO)


def registry_catalog(url: str, client: SchemaRegistryClient | None = None,
                     directory: Path = SCHEMA_DIR) -> SchemaCatalog:
    """The released versions under the registry's ids; ids written by other producers (newer
    versions, say) are fetched from the registry on first sight."""
    client = client or connect(url)

    def fetch(schema_id: int) -> SchemaVersion | None:
        try:
            schema = client.get_schema(schema_id)
        except SchemaRegistryError as exc:
            if exc.http_status_code == 404:
                return None
            raise  # the registry being down is not the message's fault: do not dead-letter it
        if (schema.schema_type or AVRO) != AVRO:
            return None
        try:
            parsed = parse(schema.schema_str)
            name = parsed["name"]
        except (ValueError, TypeError, KeyError, fastavro.schema.SchemaParseException):
            return None
        return SchemaVersion(name, 0, schema_id, schema.schema_str, parsed)

    return SchemaCatalog(register(client, released_versions(directory)), resolve_unknown=fetch)
