"""Schema evolution: every version must read the records of the version before it (BACKWARD, the
Schema Registry's default), decided by the Apache ``avro`` package's compatibility checker.

``check`` is what CI runs; ``release`` freezes a changed source as the next version. A refusal
names the offending field, e.g. ``subject.uscc: type_mismatch: reader type: int not compatible
with writer type: string``.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import avro.schema
from avro.compatibility import ReaderWriterCompatibilityChecker, SchemaCompatibilityType, lookup_writer_field

from avro_schemas.catalog import (SCHEMA_DIR, content_hash, history_file, read_manifest, source_files,
                                  standalone_text, write_manifest)

# Ids come in blocks of a hundred per schema (CreditEvent 101, 102 ...; the next new schema
# starts a new block), so an id alone tells which schema a message carries.
ID_BLOCK = 100


@dataclass(frozen=True)
class Incompatibility:
    field: str  # dotted path from the top record ("subject.uscc"); "" for the record itself
    problem: str

    def __str__(self) -> str:
        return f"{self.field or '(record)'}: {self.problem}"


class IncompatibleChange(ValueError):
    def __init__(self, name: str, version: int, problems: list[Incompatibility]):
        self.name, self.version, self.problems = name, version, problems
        super().__init__(f"{name} is not BACKWARD compatible with v{version}: "
                         + "; ".join(str(p) for p in problems))


def incompatibilities(reader_text: str, writer_text: str) -> list[Incompatibility]:
    """What stops a reader with ``reader_text`` from reading records written with ``writer_text``;
    empty when it can."""
    reader, writer = avro.schema.parse(reader_text), avro.schema.parse(writer_text)
    return _find(ReaderWriterCompatibilityChecker(), reader, writer, "")


def _find(checker, reader, writer, path: str) -> list[Incompatibility]:
    # The checker decides; this walk only descends into records the two sides share, so the
    # answer points at the deepest field concerned rather than at the whole record.
    result = checker.get_compatibility(reader, writer)
    if result.compatibility is not SchemaCompatibilityType.incompatible:
        return []
    pair = _shared_record(reader, writer)
    found: list[Incompatibility] = []
    if pair is not None:
        reader_record, writer_record = pair
        for field in reader_record.fields:
            where = f"{path}.{field.name}" if path else field.name
            written = lookup_writer_field(writer_record, field)
            if written is None:
                if not field.has_default:
                    found.append(Incompatibility(where, "new field without a default: older records lack it"))
            else:
                found.extend(_find(checker, field.type, written.type, where))
    if not found:
        kinds = ", ".join(sorted({k.value for k in result.incompatibilities}))
        found.append(Incompatibility(path, f"{kinds}: {'; '.join(sorted(result.messages))}"))
    return found


def _shared_record(reader, writer):
    if reader.type == writer.type == "array":
        return _shared_record(reader.items, writer.items)
    if reader.type == writer.type == "map":
        return _shared_record(reader.values, writer.values)
    r, w = _record_branch(reader), _record_branch(writer)
    if r is not None and w is not None and r.fullname == w.fullname:
        return r, w
    return None


def _record_branch(schema):
    if schema.type == "record":
        return schema
    if schema.type == "union":
        records = [s for s in schema.schemas if s.type == "record"]
        return records[0] if len(records) == 1 else None
    return None


@dataclass(frozen=True)
class Finding:
    name: str
    version: int | None  # a released version, or None for the source not released yet
    schema_id: int | None
    state: str  # ok | incompatible | unreleased | tampered
    message: str

    @property
    def ok(self) -> bool:
        return self.state == "ok"


def check(directory: Path = SCHEMA_DIR) -> list[Finding]:
    """Every released version unchanged and BACKWARD compatible with the one before; every source
    released (the codec writes released versions only, so an unreleased field would be dropped)."""
    manifest = read_manifest(directory)["schemas"]
    sources = source_files(directory)
    findings: list[Finding] = []
    seen_ids: dict[int, str] = {}
    for name, entries in sorted(manifest.items()):
        previous = None
        for entry in sorted(entries, key=lambda e: e["version"]):
            version, schema_id = entry["version"], entry["id"]
            text = (directory / entry["file"]).read_text()
            if schema_id in seen_ids:
                findings.append(Finding(name, version, schema_id, "tampered", f"id {schema_id} also used by {seen_ids[schema_id]}"))
            seen_ids[schema_id] = f"{name} v{version}"
            if content_hash(text) != entry["sha256"]:
                findings.append(Finding(name, version, schema_id, "tampered",
                                        f"{entry['file']} changed after release; released versions are frozen: "
                                        "change the source and release a new version"))
            elif previous is None:
                findings.append(Finding(name, version, schema_id, "ok", "first version"))
            else:
                findings.append(_compared(name, version, schema_id, text, previous))
            previous = (entry["version"], text)
        findings.append(_source_finding(name, sources.get(name), previous))
    for name in sorted(set(sources) - set(manifest)):
        findings.append(Finding(name, None, None, "unreleased", "new schema, not released: run `creditstream schemas release`"))
    return findings


def _compared(name: str, version: int, schema_id: int | None, text: str, previous: tuple[int, str]) -> Finding:
    prev_version, prev_text = previous
    problems = incompatibilities(text, prev_text)
    if problems:
        return Finding(name, version, schema_id, "incompatible",
                       f"not BACKWARD compatible with v{prev_version}: " + "; ".join(map(str, problems)))
    # FORWARD (old readers, new records) matters during a rolling upgrade; it is reported, not required.
    forward = incompatibilities(prev_text, text)
    note = f"; v{prev_version} readers cannot read it: " + "; ".join(map(str, forward)) if forward else ""
    return Finding(name, version, schema_id, "ok", f"BACKWARD compatible with v{prev_version}{note}")


def _source_finding(name: str, source: Path | None, latest: tuple[int, str] | None) -> Finding:
    if source is None:
        return Finding(name, None, None, "unreleased", "source file missing")
    version, released = latest
    draft = standalone_text(source)
    if content_hash(draft) == content_hash(released):
        return Finding(name, None, None, "ok", f"source {source.name} is released as v{version}")
    finding = _compared(name, version + 1, None, draft, latest)
    if finding.state == "ok":
        return Finding(name, None, None, "unreleased", f"source {source.name} changed since v{version} and is "
                       f"{finding.message}: run `creditstream schemas release` to make it v{version + 1}")
    return Finding(name, None, None, finding.state, f"source {source.name} is {finding.message}")


@dataclass(frozen=True)
class Release:
    name: str
    version: int
    schema_id: int
    file: str


def release(directory: Path = SCHEMA_DIR, names: list[str] | None = None) -> list[Release]:
    """Freeze every changed source as its next version, with a new id. Refuses (and writes
    nothing) when any change is not BACKWARD compatible."""
    manifest = read_manifest(directory)
    schemas = manifest["schemas"]
    used = {e["id"] for entries in schemas.values() for e in entries}
    planned: list[tuple[Release, str]] = []
    for name, source in source_files(directory).items():
        if names and name not in names:
            continue
        draft = standalone_text(source)
        entries = sorted(schemas.get(name, []), key=lambda e: e["version"])
        if entries:
            latest = entries[-1]
            released = (directory / latest["file"]).read_text()
            if content_hash(draft) == content_hash(released):
                continue
            problems = incompatibilities(draft, released)
            if problems:
                raise IncompatibleChange(name, latest["version"], problems)
            version, schema_id = latest["version"] + 1, latest["id"] + 1
        else:
            version, schema_id = 1, (max(used, default=0) // ID_BLOCK + 1) * ID_BLOCK + 1
        if schema_id in used:
            raise ValueError(f"{name} v{version} would take id {schema_id}, already in use")
        used.add(schema_id)
        planned.append((Release(name, version, schema_id, history_file(name, version)), draft))
    for rel, text in planned:
        path = directory / rel.file
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        schemas.setdefault(rel.name, []).append(
            {"version": rel.version, "id": rel.schema_id, "file": rel.file, "sha256": content_hash(text)})
    if planned:
        write_manifest(manifest, directory)
    return [rel for rel, _ in planned]
