"""Which topic goes to which table, and how a message becomes a row there.

credit.records is stored by Avro pass-through (ClickHouse reads the bodies; sinks/avro_passthrough.py):
its fields are the table's columns. The other topics carry nested records or tombstones and far fewer
messages, so they are decoded here and mapped to rows.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable, NamedTuple

from avro_schemas.codec import (BLACKLIST_ENTRY, CHECK_FEEDBACK, CHECK_RECORD, OBJECTION_EVENT, REJECTION,
                                VALIDATED_RECORD, ZERO_REPORT, UndecodableMessage)
from creditstream.topics import BLACKLIST, CHECK_FEEDBACK as FEEDBACK_TOPIC, CHECKS, OBJECTIONS, RECORDS, REJECTED, ZERO_REPORTS
from sinks.avro_passthrough import COORDINATE_COLUMNS
from sinks.periods import period_start


class Consumed(NamedTuple):
    """What the sink keeps of a Kafka message until its batch is stored."""

    offset: int
    key: bytes | None
    value: bytes | None
    timestamp_ms: int


def _ts(millis_or_dt):
    if millis_or_dt is None or isinstance(millis_or_dt, datetime):
        return millis_or_dt
    return datetime.fromtimestamp(millis_or_dt / 1000, tz=timezone.utc)


def content_id(value: bytes) -> str:
    """Id of a message that carries no event id: the same state published twice has the same id."""
    return hashlib.blake2b(value, digest_size=16).hexdigest()


REJECTION_COLUMNS = [
    "event_id", "source_unit", "catalog", "category", "reported_at", "rejected_at", "reason_codes",
    "reason_fields", "reason_messages", "origin_topic", "origin_partition", "origin_offset", "subject_masked",
    "original", "source_ref", "reported_by",
]


def rejection_row(r: dict, _msg: Consumed) -> list:
    origin = r.get("origin") or {}
    reasons = r["reasons"]
    return [
        r["event_id"], r["source_unit"], r["catalog"], r["category"], _ts(r["reported_at"]), _ts(r["rejected_at"]),
        [x["code"] for x in reasons], [x["field"] for x in reasons], [x["message"] for x in reasons],
        origin.get("topic", ""), origin.get("partition", -1), origin.get("offset", -1), r.get("subject_masked"),
        r.get("original") or {}, r.get("source_ref"), r.get("reported_by"),
    ]


def undecodable_row(topic: str, partition: int, offset: int, error: str) -> list:
    """A message on one of our own topics that cannot be read is stored as a rejection, not lost.
    Its id is its coordinates, so a replay of it is recognised like any other."""
    now = datetime.now(timezone.utc)
    return [f"{topic}-{partition}-{offset}", "", "", "", None, now, ["undecodable"], [""], [error],
            topic, partition, offset, None, {}, None, None]


BLACKLIST_COLUMNS = [
    "change_id", "subject_key", "change", "subject_type", "subject_name", "lists", "basis_event_ids",
    "basis_categories", "basis_source_units", "basis_document_numbers", "basis_authorities",
    "basis_decision_dates", "basis_valid_until", "basis_statuses", "since", "until", "status", "status_since",
    "status_reason", "subject_key_kind", "changed_at", "subject_masked", "subject_sealed",
]


def blacklist_row(entry: dict | None, msg: Consumed) -> list:
    """One state change. A tombstone (no value) says the subject left every list."""
    if entry is None:
        subject = (msg.key or b"").decode(errors="replace")
        return [f"tombstone-{msg.offset}-{content_id(msg.key or b'')}", subject, "TOMBSTONE", "", None, [], [], [], [],
                [], [], [], [], [], None, None, None, None, None, "", _ts(msg.timestamp_ms), None, None]
    basis = entry["basis"]
    return [
        content_id(msg.value), entry["subject_key"], "UPSERT", entry["subject_type"], entry.get("subject_name"),
        entry["lists"], [b["event_id"] for b in basis], [b["category"] for b in basis],
        [b["source_unit"] for b in basis], [b.get("document_number") for b in basis],
        [b.get("authority") for b in basis], [b.get("decision_date") for b in basis],
        [b.get("valid_until") for b in basis], [b.get("status", "ACTIVE") for b in basis],
        entry.get("since"), entry.get("until"), entry["status"], _ts(entry.get("status_since")),
        entry.get("status_reason"), entry.get("subject_key_kind", "OTHER"), _ts(entry["updated_at"]),
        entry.get("subject_masked"), entry.get("subject_sealed"),
    ]


CHECK_COLUMNS = [
    "check_id", "requested_at", "requesting_unit", "caller", "matter_kind", "matter_name", "matter_reference",
    "subject_key", "subject_key_kind", "subject_type", "subject_name", "match", "listed", "hit_lists",
    "hit_statuses", "hit_subject_keys", "hit_since", "hit_until", "hit_basis_event_ids", "index_version",
    "index_as_of", "index_stale",
]


CHAIN_COLUMNS = ["prev_hash", "hash"]


def check_row(c: dict, _msg: Consumed) -> list:
    matter, subject, index, hits = c["matter"], c["subject"], c["index"], c["hits"]
    return [
        c["check_id"], _ts(c["requested_at"]), c["requesting_unit"], c["caller"], matter["kind"], matter.get("name"),
        matter.get("reference"), subject["key"], subject["key_kind"], subject.get("subject_type", "UNKNOWN"),
        subject.get("name"), c.get("match", "KEY"), c["listed"], [h["list"] for h in hits],
        [h["status"] for h in hits], [h["subject_key"] for h in hits], [h.get("since") for h in hits],
        [h.get("until") for h in hits], [list(h.get("basis_event_ids") or []) for h in hits], index["version"],
        _ts(index.get("as_of")), bool(index.get("stale")),
    ]


FEEDBACK_COLUMNS = ["feedback_id", "check_id", "reported_at", "requesting_unit", "caller", "outcome", "measures",
                    "reason"]


def feedback_row(f: dict, _msg: Consumed) -> list:
    return [f["feedback_id"], f["check_id"], _ts(f["reported_at"]), f["requesting_unit"], f["caller"], f["outcome"],
            list(f.get("measures") or []), f.get("reason")]


OBJECTION_COLUMNS = [
    "event_id", "objection_id", "sequence", "transition", "state", "at", "actor", "actor_unit", "subject_key",
    "subject_masked", "basis_event_id", "category", "document_number", "source_unit", "outcome", "reason",
    "step_names", "step_due_at", "step_done_at", "control_event_id",
]


def objection_row(o: dict, _msg: Consumed) -> list:
    steps = o.get("steps") or []
    return [
        o["event_id"], o["objection_id"], o["sequence"], o["transition"], o["state"], _ts(o["at"]), o["actor"],
        o["actor_unit"], o["subject_key"], o.get("subject_masked"), o["basis_event_id"], o["category"],
        o.get("document_number"), o["source_unit"], o.get("outcome"), o.get("reason"), [s["step"] for s in steps],
        [_ts(s.get("due_at")) for s in steps], [_ts(s.get("done_at")) for s in steps], o.get("control_event_id"),
    ]


ZERO_REPORT_COLUMNS = [
    "report_id", "source_unit", "catalog", "period", "period_kind", "period_start", "reported_at", "reporter",
    "note", "reporting_mode",
]


def zero_report_row(z: dict, msg: Consumed) -> list:
    kind, start = period_start(z["period"])
    return [content_id(msg.value), z["source_unit"], z["catalog"], z["period"], kind, start, _ts(z["reported_at"]),
            z["reporter"], z.get("note"), z.get("reporting_mode", "ONLINE_FORM")]


@dataclass(frozen=True)
class TableSpec:
    topic: str
    table: str
    record: str                                   # full name of the Avro record the topic carries
    columns: list[str] | None = None              # decoded path: the row's columns, coordinates excluded
    to_row: Callable[[dict | None, Consumed], list] | None = None
    event_ids: bool = False                       # the record leads with its event id: replays are dropped by it
    id_column: str = "event_id"                   # where the table holds that id
    tombstones: bool = False                      # a message without value is a state change (compacted topic)
    chained: bool = False                         # rows hash-chained per partition (audit_chain.py)

    @property
    def passthrough(self) -> bool:
        return self.to_row is None

    @property
    def insert_columns(self) -> list[str]:
        return list(self.columns or []) + COORDINATE_COLUMNS + (CHAIN_COLUMNS if self.chained else [])


REJECTIONS_TABLE = "rejections"
REJECTION_INSERT_COLUMNS = REJECTION_COLUMNS + COORDINATE_COLUMNS


def table_specs() -> dict[str, TableSpec]:
    specs = [
        TableSpec(RECORDS, "records", VALIDATED_RECORD, event_ids=True),
        TableSpec(REJECTED, REJECTIONS_TABLE, REJECTION, REJECTION_COLUMNS, rejection_row, event_ids=True),
        TableSpec(BLACKLIST, "blacklist_history", BLACKLIST_ENTRY, BLACKLIST_COLUMNS, blacklist_row, tombstones=True),
        # A check id again at a later offset is the audit sender's resend after a crash: stored once.
        TableSpec(CHECKS, "checks", CHECK_RECORD, CHECK_COLUMNS, check_row, event_ids=True, id_column="check_id",
                  chained=True),
        TableSpec(ZERO_REPORTS, "zero_reports", ZERO_REPORT, ZERO_REPORT_COLUMNS, zero_report_row),
        TableSpec(FEEDBACK_TOPIC, "check_feedback", CHECK_FEEDBACK, FEEDBACK_COLUMNS, feedback_row),
        TableSpec(OBJECTIONS, "objection_events", OBJECTION_EVENT, OBJECTION_COLUMNS, objection_row, event_ids=True),
    ]
    return {s.topic: s for s in specs}


__all__ = ["Consumed", "TableSpec", "table_specs", "undecodable_row", "UndecodableMessage",
           "REJECTIONS_TABLE", "REJECTION_INSERT_COLUMNS"]
