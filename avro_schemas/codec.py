"""Confluent wire format over fastavro: magic byte 0, 4-byte big-endian schema id, Avro body.

Schemas are parsed once; each released version has a pinned id in ``schemas/manifest.json`` so
every process and every restart of the embedded default agrees on them.
"""
from __future__ import annotations

import io
import json
import struct
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import fastavro

SCHEMA_DIR = Path(__file__).resolve().parent / "schemas"
MAGIC = 0
_HEADER = struct.Struct(">bI")

CREDIT_EVENT = "io.creditstream.CreditEvent"
VALIDATED_RECORD = "io.creditstream.ValidatedRecord"
REJECTION = "io.creditstream.Rejection"
BLACKLIST_ENTRY = "io.creditstream.BlacklistEntry"


class UndecodableMessage(ValueError):
    """A message that is not a record we can read: wrong magic byte, unknown id, bad body."""


@dataclass(frozen=True)
class SchemaVersion:
    name: str
    version: int
    schema_id: int
    parsed: dict


class SchemaCatalog:
    """The released versions of every schema, by name and by id."""

    def __init__(self, directory: Path = SCHEMA_DIR):
        manifest = json.loads((directory / "manifest.json").read_text())
        self._by_id: dict[int, SchemaVersion] = {}
        self._latest: dict[str, SchemaVersion] = {}
        for name, versions in manifest["schemas"].items():
            for entry in versions:
                parsed = fastavro.schema.load_schema(directory / entry["file"], _write_hint=False)
                sv = SchemaVersion(name, entry["version"], entry["id"], parsed)
                if sv.schema_id in self._by_id:
                    raise ValueError(f"schema id {sv.schema_id} is used twice in the manifest")
                self._by_id[sv.schema_id] = sv
                if name not in self._latest or sv.version > self._latest[name].version:
                    self._latest[name] = sv

    def latest(self, name: str) -> SchemaVersion:
        return self._latest[name]

    def by_id(self, schema_id: int) -> SchemaVersion | None:
        return self._by_id.get(schema_id)

    def names(self) -> list[str]:
        return sorted(self._latest)


@lru_cache(maxsize=1)
def catalog() -> SchemaCatalog:
    return SchemaCatalog()


class Codec:
    """Encode and decode one record type; decoding resolves older writer versions to the latest."""

    def __init__(self, name: str, schemas: SchemaCatalog | None = None):
        self.schemas = schemas or catalog()
        self.writer = self.schemas.latest(name)
        self.name = name
        self._header = _HEADER.pack(MAGIC, self.writer.schema_id)

    def encode(self, record: dict) -> bytes:
        buf = io.BytesIO()
        buf.write(self._header)
        fastavro.schemaless_writer(buf, self.writer.parsed, record)
        return buf.getvalue()

    def decode(self, data: bytes) -> dict:
        if data is None or len(data) < 5:
            raise UndecodableMessage("message shorter than the 5-byte header")
        magic, schema_id = _HEADER.unpack_from(data)
        if magic != MAGIC:
            raise UndecodableMessage(f"wrong magic byte {magic}")
        writer = self.schemas.by_id(schema_id)
        if writer is None:
            raise UndecodableMessage(f"unknown schema id {schema_id}")
        if writer.name != self.name:
            raise UndecodableMessage(f"schema id {schema_id} is {writer.name}, expected {self.name}")
        body = io.BytesIO(data)
        body.seek(5)
        try:
            if writer.schema_id == self.writer.schema_id:
                record = fastavro.schemaless_reader(body, writer.parsed, None)
            else:
                record = fastavro.schemaless_reader(body, writer.parsed, self.writer.parsed)
        except Exception as exc:  # fastavro raises EOFError, StructError, UnicodeDecodeError ...
            raise UndecodableMessage(f"Avro body cannot be read: {type(exc).__name__}: {exc}") from None
        if body.tell() != len(data):
            raise UndecodableMessage(f"{len(data) - body.tell()} trailing bytes after the Avro body")
        return record


@lru_cache(maxsize=None)
def codec(name: str) -> Codec:
    return Codec(name)
