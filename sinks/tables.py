"""How each topic's records become rows of its ClickHouse table."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable

from avro_schemas.codec import REJECTION, VALIDATED_RECORD, UndecodableMessage, codec
from creditstream.topics import RECORDS, REJECTED


def _ts(millis_or_dt):
    if millis_or_dt is None or isinstance(millis_or_dt, datetime):
        return millis_or_dt
    return datetime.fromtimestamp(millis_or_dt / 1000, tz=timezone.utc)


RECORD_COLUMNS = [
    "event_id", "source_unit", "catalog", "category", "reporting_mode", "source_format", "reported_at",
    "processed_at", "subject_type", "subject_key", "subject_key_kind", "subject_name", "sex", "region_code",
    "document_number", "authority", "decision_date", "valid_until", "matter_name", "cause", "content",
    "timeliness_days", "late", "duplicate_of", "prohibited_dropped", "raw",
]
REJECTION_COLUMNS = [
    "event_id", "source_unit", "catalog", "category", "reported_at", "rejected_at", "reason_codes",
    "reason_fields", "reason_messages", "origin_topic", "origin_partition", "origin_offset", "subject_masked",
    "original",
]
_COORDS = ["kafka_partition", "kafka_offset"]


def record_row(r: dict) -> list:
    return [r[c] for c in RECORD_COLUMNS]


def rejection_row(r: dict) -> list:
    origin = r.get("origin") or {}
    reasons = r["reasons"]
    return [
        r["event_id"], r["source_unit"], r["catalog"], r["category"], _ts(r["reported_at"]), _ts(r["rejected_at"]),
        [x["code"] for x in reasons], [x["field"] for x in reasons], [x["message"] for x in reasons],
        origin.get("topic", ""), origin.get("partition", -1), origin.get("offset", -1), r.get("subject_masked"),
        r.get("original") or {},
    ]


def undecodable_row(topic: str, partition: int, offset: int, error: str) -> list:
    """A message on one of our own topics that cannot be read is stored as a rejection, not lost."""
    now = datetime.now(timezone.utc)
    return [f"{topic}-{partition}-{offset}", "", "", "", None, now, ["undecodable"], [""], [error],
            topic, partition, offset, None, {}]


@dataclass(frozen=True)
class TableSpec:
    topic: str
    table: str
    columns: list[str]
    decode: Callable[[bytes], dict]
    to_row: Callable[[dict], list]

    @property
    def insert_columns(self) -> list[str]:
        return self.columns + _COORDS


def table_specs() -> dict[str, TableSpec]:
    return {
        RECORDS: TableSpec(RECORDS, "records", RECORD_COLUMNS, codec(VALIDATED_RECORD).decode, record_row),
        REJECTED: TableSpec(REJECTED, "rejections", REJECTION_COLUMNS, codec(REJECTION).decode, rejection_row),
    }


__all__ = ["TableSpec", "table_specs", "undecodable_row", "UndecodableMessage"]
