"""Confluent wire format over fastavro: magic byte 0, 4-byte big-endian schema id, Avro body.

Any Kafka tool and any Confluent deserializer reads what this writes. Schemas are parsed once,
when the catalog loads; encoding writes the newest released version, decoding reads any version
and resolves it to the newest (older writers' records gain the newer fields' defaults).
"""
from __future__ import annotations

import io
import struct
from functools import lru_cache

import fastavro

from avro_schemas.catalog import SCHEMA_DIR, SchemaCatalog, SchemaVersion, released_versions

MAGIC = 0
_HEADER = struct.Struct(">bI")
HEADER_SIZE = _HEADER.size

CREDIT_EVENT = "io.creditstream.CreditEvent"
VALIDATED_RECORD = "io.creditstream.ValidatedRecord"
REJECTION = "io.creditstream.Rejection"
BLACKLIST_ENTRY = "io.creditstream.BlacklistEntry"
CHECK_RECORD = "io.creditstream.CheckRecord"
ZERO_REPORT = "io.creditstream.ZeroReport"
CHECK_FEEDBACK = "io.creditstream.CheckFeedback"
OBJECTION_EVENT = "io.creditstream.ObjectionEvent"

_write = fastavro.schemaless_writer
_read = fastavro.schemaless_reader


class UndecodableMessage(ValueError):
    """A message that is not a record we can read: wrong magic byte, unknown id, bad body."""


@lru_cache(maxsize=1)
def catalog() -> SchemaCatalog:
    """The process's catalog: the registry's ids when a Schema Registry is configured, the
    manifest's pinned ids otherwise."""
    from creditstream.settings import get_settings  # settings sit above this package; read once

    url = get_settings().schema_registry_url
    if url:
        from avro_schemas.registry import registry_catalog

        return registry_catalog(url)
    return SchemaCatalog(released_versions(SCHEMA_DIR))


class Codec:
    """Encode and decode one record type."""

    def __init__(self, name: str, schemas: SchemaCatalog | None = None):
        self.schemas = schemas or catalog()
        self.name = name
        self.writer: SchemaVersion = self.schemas.latest(name)
        self._parsed = self.writer.parsed
        self._header = _HEADER.pack(MAGIC, self.writer.schema_id)

    def encode(self, record: dict) -> bytes:
        buf = io.BytesIO()
        buf.write(self._header)
        _write(buf, self._parsed, record)
        return buf.getvalue()

    def decode(self, data: bytes | None) -> dict:
        writer = self._writer_of(data)
        body = io.BytesIO(data)
        body.seek(HEADER_SIZE)
        try:
            if writer is self.writer:
                record = _read(body, self._parsed, None)
            else:
                record = _read(body, writer.parsed, self._parsed)
        except Exception as exc:  # fastavro raises EOFError, StructError, UnicodeDecodeError, ...
            raise UndecodableMessage(f"Avro body cannot be read: {type(exc).__name__}: {exc}") from None
        if body.tell() != len(data):
            raise UndecodableMessage(f"{len(data) - body.tell()} trailing bytes after the Avro body")
        return record

    def _writer_of(self, data: bytes | None) -> SchemaVersion:
        if data is None or len(data) < HEADER_SIZE:
            raise UndecodableMessage(f"message shorter than the {HEADER_SIZE}-byte header")
        magic, schema_id = _HEADER.unpack_from(data)
        if magic != MAGIC:
            raise UndecodableMessage(f"wrong magic byte {magic}")
        if schema_id == self.writer.schema_id:
            return self.writer
        writer = self.schemas.by_id(schema_id)
        if writer is None:
            raise UndecodableMessage(f"unknown schema id {schema_id}")
        if writer.name != self.name:
            raise UndecodableMessage(f"schema id {schema_id} is {writer.name}, expected {self.name}")
        return writer


@lru_cache(maxsize=None)
def codec(name: str) -> Codec:
    return Codec(name)
