"""The contract's content: every field documented in Chinese and English, in our namespace, and the
fields and states the issue names."""
from __future__ import annotations

import json
import re

import pytest

from avro_schemas.codec import BLACKLIST_ENTRY, CHECK_RECORD, CREDIT_EVENT, ZERO_REPORT, catalog

VERSIONS = catalog().versions()
CJK = re.compile(r"[\u4e00-\u9fff]")
ENGLISH = re.compile(r"[A-Za-z]{2,}")


def walk(node, path=""):
    """(path, named type or field) for every named type and field of a schema."""
    if isinstance(node, list):
        for branch in node:
            yield from walk(branch, path)
    elif isinstance(node, dict):
        if "name" in node and node.get("type") in ("record", "enum", "fixed"):
            yield path or node["name"], node
        for f in node.get("fields", []):
            yield f"{path}.{f['name']}".lstrip("."), f
            yield from walk(f["type"], f"{path}.{f['name']}".lstrip("."))
        for key in ("items", "values"):
            yield from walk(node.get(key), path)


@pytest.mark.parametrize("sv", VERSIONS, ids=[f"{v.name}.v{v.version}" for v in VERSIONS])
def test_every_field_and_type_has_a_chinese_term_and_an_english_meaning(sv):
    undocumented = [path for path, node in walk(json.loads(sv.text))
                    if not (CJK.search(node.get("doc", "")) and ENGLISH.search(node.get("doc", "")))]
    assert undocumented == []


@pytest.mark.parametrize("sv", VERSIONS, ids=[f"{v.name}.v{v.version}" for v in VERSIONS])
def test_every_named_type_is_in_our_namespace(sv):
    names = [node["name"] for _, node in walk(json.loads(sv.text)) if node.get("type") in ("record", "enum", "fixed")]
    assert names and all(n.startswith("io.creditstream.") for n in names)


def fields(name: str) -> set[str]:
    return {path for path, node in walk(json.loads(catalog().latest(name).text)) if "type" in node and "symbols" not in node}


def test_credit_event_carries_what_the_issue_lists():
    assert fields(CREDIT_EVENT) >= {
        "event_id", "source_unit", "catalog", "category", "reporting_mode", "source_format", "reported_at",
        "subject.type", "subject.uscc", "subject.id_number", "subject.plate", "subject.name", "subject.sex",
        "decision.document_number", "decision.authority", "decision.date", "decision.valid_until",
        "matter.name", "matter.cause", "matter.content", "raw"}


def test_blacklist_entry_expresses_suspension_exit_and_repair():
    schema = json.loads(catalog().latest(BLACKLIST_ENTRY).text)
    named = {node["name"]: node for _, node in walk(schema) if node.get("type") == "enum"}
    status = next(f["type"] for f in schema["fields"] if f["name"] == "status")
    status = named[status] if isinstance(status, str) else status  # defined inline earlier, in basis
    assert {"ACTIVE", "SUSPENDED", "EXITED", "REPAIRED"} <= set(status["symbols"])


def test_check_record_and_zero_report_fields():
    assert fields(CHECK_RECORD) >= {"check_id", "requested_at", "requesting_unit", "caller", "matter.kind",
                                    "subject.key", "listed", "hits.list", "hits.status", "index.version", "index.as_of"}
    assert fields(ZERO_REPORT) >= {"source_unit", "catalog", "period", "reported_at", "reporter", "note"}
