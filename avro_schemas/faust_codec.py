"""Faust codecs for our records, so agents receive decoded dicts and send plain dicts.

After ``register_faust_codecs()``, a topic declared with ``value_serializer=CREDIT_EVENT`` (any
record's full name) decodes the Confluent wire format into a dict and encodes dicts back. A
message that cannot be decoded reaches faust as ``ValueDecodeError`` (wrapping
``UndecodableMessage``); an agent that must dead-letter instead reads raw bytes and calls
``codec(name).decode`` itself, as the validating worker does.
"""
from __future__ import annotations

from typing import Any

from faust.serializers import codecs

from avro_schemas.catalog import SCHEMA_DIR, read_manifest
from avro_schemas.codec import codec


class AvroRecordCodec(codecs.Codec):
    """One record type. The schema name travels in ``kwargs`` so faust's ``clone`` (used when
    codecs are chained with ``|``) rebuilds it."""

    def __init__(self, schema_name: str, children=None, **kwargs: Any):
        super().__init__(children=children, schema_name=schema_name, **kwargs)
        self.schema_name = schema_name

    def _loads(self, s: bytes) -> dict:
        return codec(self.schema_name).decode(s)

    def _dumps(self, obj: dict) -> bytes:
        return codec(self.schema_name).encode(obj)


def register_faust_codecs() -> list[str]:
    """Register one codec per record, named by its full name; the catalog (and a Schema Registry,
    when configured) is first consulted when a message is encoded or decoded, not here."""
    names = sorted(read_manifest(SCHEMA_DIR)["schemas"])
    for name in names:
        codecs.register(name, AvroRecordCodec(name))
    return names
