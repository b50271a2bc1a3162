"""Schema evolution: the repository's schemas pass the BACKWARD check (so CI fails on an
incompatible change), an incompatible change is refused with the field named, and a compatible
one is released as a new version that old and new readers both read."""
from __future__ import annotations

import copy
import json
import shutil

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from avro_schemas.catalog import SCHEMA_DIR, SchemaCatalog, read_manifest, released_versions
from avro_schemas.codec import CREDIT_EVENT, Codec
from avro_schemas.evolution import IncompatibleChange, check, incompatibilities, release
from avro_schemas.strategies import records
from creditstream.cli import app

runner = CliRunner()


@pytest.fixture
def schemas(tmp_path):
    directory = tmp_path / "schemas"
    shutil.copytree(SCHEMA_DIR, directory)
    return directory


def edit(directory, file, change):
    path = directory / file
    schema = json.loads(path.read_text())
    change(schema)
    path.write_text(json.dumps(schema, ensure_ascii=False, indent=2))


def field(record: dict, dotted: str) -> dict:
    """The field at a dotted path, descending through nested records, unions and arrays."""
    head, _, rest = dotted.partition(".")
    found = next(f for f in record["fields"] if f["name"] == head)
    if not rest:
        return found
    inner = found["type"]
    inner = next(b for b in inner if isinstance(b, dict)) if isinstance(inner, list) else inner
    return field(inner.get("items", inner), rest)


def test_the_repository_schemas_pass_the_check():
    findings = check()
    assert [f for f in findings if not f.ok] == []
    manifest = read_manifest()["schemas"]
    # one finding per released version plus one per source: nothing was skipped
    assert len(findings) == sum(len(v) for v in manifest.values()) + len(manifest)


def test_the_check_command_passes_on_the_repository():
    result = runner.invoke(app, ["schemas", "check"])
    assert result.exit_code == 0, result.output


INCOMPATIBLE_CHANGES = [
    ("credit_event.avsc", "subject.uscc", lambda s: field(s, "subject.uscc").update(type=["null", "int"])),
    ("credit_event.avsc", "decision.court", lambda s: field(s, "decision")["type"]["fields"].append(
        {"name": "court", "type": "string", "doc": "法院 court"})),
    ("credit_event.avsc", "reported_at", lambda s: field(s, "reported_at").update(type="int")),
    ("credit_event.avsc", "unit", lambda s: field(s, "source_unit").update(name="unit")),
    ("rejection.avsc", "reasons.code", lambda s: field(s, "reasons.code").update(type="int")),
    ("rejection.avsc", "origin.offset", lambda s: field(s, "origin.offset").update(type="int")),
]


@pytest.mark.parametrize("file, offending, change", INCOMPATIBLE_CHANGES, ids=[c[1] for c in INCOMPATIBLE_CHANGES])
def test_an_incompatible_change_is_refused_with_the_field_named(schemas, file, offending, change):
    manifest_before = (schemas / "manifest.json").read_text()
    history_before = sorted((schemas / "history").iterdir())
    edit(schemas, file, change)

    refused = [f for f in check(schemas) if f.state == "incompatible"]
    assert len(refused) == 1 and refused[0].version is None  # the source, not a released version
    assert f"{offending}:" in refused[0].message

    with pytest.raises(IncompatibleChange) as exc:
        release(schemas)
    assert [p.field for p in exc.value.problems] == [offending]
    assert (schemas / "manifest.json").read_text() == manifest_before
    assert sorted((schemas / "history").iterdir()) == history_before

    result = runner.invoke(app, ["schemas", "check", "--schemas-dir", str(schemas)])
    assert result.exit_code == 1 and offending in result.output


def add_nationality_and_a_category(directory):
    edit(directory, "credit_event.avsc", lambda s: field(s, "subject")["type"]["fields"].append(
        {"name": "nationality", "type": ["null", "string"], "default": None, "doc": "国籍 nationality"}))
    edit(directory, "io.creditstream.Category.avsc", lambda s: s["symbols"].append("CREDIT_COMMITMENT"))


def test_a_compatible_change_must_be_released_then_becomes_the_next_version(schemas):
    add_nationality_and_a_category(schemas)
    pending = [f for f in check(schemas) if not f.ok]
    # Category is shared: every schema that uses it changed, and none may stay unreleased,
    # or the codec would keep writing the old version and drop the new field.
    assert {f.state for f in pending} == {"unreleased"}
    assert {f.name.rsplit(".", 1)[1] for f in pending} == {"CreditEvent", "ValidatedRecord", "BlacklistEntry", "CheckRecord"}

    released = {r.name: r for r in release(schemas)}
    assert (released[CREDIT_EVENT].version, released[CREDIT_EVENT].schema_id) == (2, 102)
    assert [f for f in check(schemas) if not f.ok] == []
    v1 = read_manifest(SCHEMA_DIR)["schemas"][CREDIT_EVENT][0]
    assert read_manifest(schemas)["schemas"][CREDIT_EVENT][0] == v1
    assert (schemas / v1["file"]).read_text() == (SCHEMA_DIR / v1["file"]).read_text()
    assert release(schemas) == []  # nothing left to release


def test_a_released_version_edited_afterwards_is_caught(schemas):
    v1 = read_manifest(schemas)["schemas"][CREDIT_EVENT][0]
    edit(schemas, v1["file"], lambda s: field(s, "event_id").update(doc="changed"))
    tampered = [f for f in check(schemas) if f.state == "tampered"]
    assert [(f.name, f.version) for f in tampered] == [(CREDIT_EVENT, 1)]


def test_a_new_schema_gets_the_next_id_block(schemas):
    blocks = {v["id"] // 100 for versions in read_manifest(schemas)["schemas"].values() for v in versions}
    (schemas / "sample_new.avsc").write_text(json.dumps({
        "type": "record", "name": "SampleNew", "namespace": "io.creditstream", "doc": "新记录 a new record",
        "fields": [{"name": "sample_id", "type": "string", "doc": "编号 id"}]}))
    assert [f.state for f in check(schemas) if not f.ok] == ["unreleased"]
    [new] = release(schemas)
    assert (new.name, new.version, new.schema_id) == ("io.creditstream.SampleNew", 1, (max(blocks) + 1) * 100 + 1)


across_records = settings(max_examples=60, deadline=None)


@pytest.fixture(scope="module")
def two_versions(tmp_path_factory):
    """CreditEvent v1 as released and a v2 that adds a field and a category symbol. The old
    process knows v1 only and looks unknown ids up, as it would in a Schema Registry."""
    directory = tmp_path_factory.mktemp("evolved") / "schemas"
    shutil.copytree(SCHEMA_DIR, directory)
    add_nationality_and_a_category(directory)
    release(directory)
    versions = [v for v in released_versions(directory) if v.name == CREDIT_EVENT]
    v1, v2 = versions
    old = SchemaCatalog([v1], resolve_unknown={v2.schema_id: v2}.get)
    new = SchemaCatalog(versions)
    return Codec(CREDIT_EVENT, old), Codec(CREDIT_EVENT, new), v1, v2


def test_old_and_new_schema_are_compatible_both_ways(two_versions):
    _, _, v1, v2 = two_versions
    assert incompatibilities(v2.text, v1.text) == []  # BACKWARD: new reader, old records
    assert incompatibilities(v1.text, v2.text) == []  # FORWARD: old reader, new records


@across_records
@given(data=st.data())
def test_new_reader_reads_old_writer(two_versions, data):
    old, new, v1, _ = two_versions
    record = data.draw(records(v1))
    decoded = new.decode(old.encode(record))
    assert decoded["subject"].pop("nationality") is None  # the new field's default
    assert decoded == record


@across_records
@given(data=st.data())
def test_old_reader_reads_new_writer(two_versions, data):
    old, new, _, v2 = two_versions
    record = data.draw(records(v2))
    decoded = old.decode(new.encode(record))
    expected = copy.deepcopy(record)
    expected["subject"].pop("nationality")
    if expected["category"] == "CREDIT_COMMITMENT":  # a symbol the old reader lacks: its default
        expected["category"] = "OTHER"
    assert decoded == expected
