"""The released versions of every schema: the manifest, the frozen files it names, their ids.

Two kinds of file live in ``schemas/``:

- sources (``credit_event.avsc`` ...), edited by hand; shared named types sit in files named
  after their full name (``io.creditstream.Category.avsc``), as ``fastavro.schema.load_schema``
  expects;
- released versions (``history/<full name>.v<N>.avsc``): a source expanded into one standalone
  schema, frozen when released. That text is what a Schema Registry holds and what the codec
  writes with, so a shared enum edited later cannot change a version already on the wire.

``manifest.json`` lists every released version with its pinned id (the embedded default has no
registry, so every process and every restart must agree on ids without asking anyone).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

import fastavro

SCHEMA_DIR = Path(__file__).resolve().parent / "schemas"
MANIFEST = "manifest.json"
HISTORY = "history"
NAMESPACE = "io.creditstream"


@dataclass(frozen=True)
class SchemaVersion:
    name: str
    version: int
    schema_id: int
    text: str
    # Parsed once, with fastavro's parsed marker kept: fastavro re-parses any schema dict
    # without it on every read and write.
    parsed: dict


def parse(text: str) -> dict:
    return fastavro.parse_schema(json.loads(text))


def content_hash(text: str) -> str:
    """Hash of a schema file's JSON content, insensitive to whitespace and key order."""
    normal = json.dumps(json.loads(text), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(normal.encode()).hexdigest()


def history_file(name: str, version: int) -> str:
    return f"{HISTORY}/{name}.v{version}.avsc"


def read_manifest(directory: Path = SCHEMA_DIR) -> dict:
    return json.loads((directory / MANIFEST).read_text())


def write_manifest(manifest: dict, directory: Path = SCHEMA_DIR) -> None:
    (directory / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")


def released_versions(directory: Path = SCHEMA_DIR) -> list[SchemaVersion]:
    """Every released version, oldest first per schema, with the manifest's pinned ids."""
    versions = []
    for name, entries in read_manifest(directory)["schemas"].items():
        for entry in sorted(entries, key=lambda e: e["version"]):
            text = (directory / entry["file"]).read_text()
            versions.append(SchemaVersion(name, entry["version"], entry["id"], text, parse(text)))
    return versions


def source_files(directory: Path = SCHEMA_DIR) -> dict[str, Path]:
    """Hand-edited top-level schemas by full name; shared named types are not top-level."""
    sources = {}
    for path in sorted(directory.glob("*.avsc")):
        if path.name.startswith(NAMESPACE + "."):
            continue
        schema = json.loads(path.read_text())
        sources[f"{schema.get('namespace', NAMESPACE)}.{schema['name']}"] = path
    return sources


# Key order of the frozen files, so a released version reads like a source and diffs stay small.
_KEY_ORDER = {k: i for i, k in enumerate(
    ["name", "type", "logicalType", "namespace", "symbols", "default", "aliases", "doc", "items", "values", "fields"])}


def _ordered(node):
    if isinstance(node, dict):
        return {k: _ordered(node[k]) for k in sorted(node, key=lambda k: (_KEY_ORDER.get(k, 99), k))}
    if isinstance(node, list):
        return [_ordered(x) for x in node]
    return node


def standalone_text(source: Path) -> str:
    """A source with every named type it uses expanded in: one self-contained schema."""
    expanded = fastavro.schema.load_schema(source, _write_hint=False)
    return json.dumps(_ordered(expanded), indent=2, ensure_ascii=False) + "\n"


class SchemaCatalog:
    """Schema versions by name and by id. ``resolve_unknown`` looks up an id this catalog does not
    hold (a Schema Registry can; the embedded manifest cannot), and the answer is kept."""

    def __init__(self, versions: Iterable[SchemaVersion],
                 resolve_unknown: Callable[[int], SchemaVersion | None] | None = None):
        self._by_id: dict[int, SchemaVersion] = {}
        self._latest: dict[str, SchemaVersion] = {}
        self._resolve_unknown = resolve_unknown
        for sv in versions:
            if sv.schema_id in self._by_id:
                raise ValueError(f"schema id {sv.schema_id} is used by {self._by_id[sv.schema_id].name} "
                                 f"v{self._by_id[sv.schema_id].version} and {sv.name} v{sv.version}")
            self._by_id[sv.schema_id] = sv
            if sv.name not in self._latest or sv.version > self._latest[sv.name].version:
                self._latest[sv.name] = sv

    def latest(self, name: str) -> SchemaVersion:
        return self._latest[name]

    def by_id(self, schema_id: int) -> SchemaVersion | None:
        found = self._by_id.get(schema_id)
        if found is None and self._resolve_unknown is not None:
            found = self._resolve_unknown(schema_id)
            if found is not None:
                self._by_id[schema_id] = found
        return found

    def names(self) -> list[str]:
        return sorted(self._latest)

    def versions(self) -> list[SchemaVersion]:
        return sorted(self._by_id.values(), key=lambda sv: (sv.name, sv.version))
