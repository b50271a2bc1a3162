"""Assess one inbound credit event: a validated record, or a rejection with its reasons.

Plain functions over dicts shaped like the Avro records; no Kafka, no I/O.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from creditstream.domain import reasons as R
from creditstream.domain.categories import is_blacklist_category
from creditstream.domain.identifiers import compact, id_number_is_valid, is_masked_id, mask_id_number, uscc_is_valid
from creditstream.domain.reasons import Reason


@dataclass(slots=True)
class Outcome:
    record: dict | None = None       # ValidatedRecord, when accepted
    rejection: dict | None = None    # Rejection, when not
    blacklist: dict | None = None    # BlacklistEntry, when the record puts its subject on a list

    @property
    def key(self) -> str:
        if self.record is not None:
            return self.record["subject_key"]
        return self.rejection["event_id"]


def _subject_key(subject: dict, reasons: list[Reason]) -> tuple[str, str]:
    """The normalised subject id and its kind; appends reasons when it is not usable."""
    stype = subject.get("type") or "UNKNOWN"
    code = compact(subject.get("uscc"))
    number = compact(subject.get("id_number"))
    if stype == "NATURAL_PERSON" or (not code and number):
        if not number:
            reasons.append(Reason(R.MISSING_SUBJECT_ID, "subject.id_number", "身份证件号码缺失 ID number missing"))
            return "", "OTHER"
        if is_masked_id(number):
            return number, "ID_NUMBER_MASKED"
        if not id_number_is_valid(number):
            reasons.append(Reason(R.INVALID_ID_NUMBER, "subject.id_number",
                                  f"身份证件号码校验失败 ID number fails GB 11643: {mask_id_number(number)}"))
        return number, "ID_NUMBER"
    if not code:
        reasons.append(Reason(R.MISSING_SUBJECT_ID, "subject.uscc", "统一社会信用代码缺失 USCC missing"))
        return "", "OTHER"
    if not uscc_is_valid(code):
        reasons.append(Reason(R.INVALID_USCC, "subject.uscc",
                              f"统一社会信用代码校验失败 USCC fails GB 32100-2015: {code}"))
    return code, "USCC"


def _millis(value) -> int:
    if isinstance(value, datetime):
        return int(value.timestamp() * 1000)
    return int(value)


def assess(event: dict, now: datetime | None = None) -> Outcome:
    now_ms = _millis(now or datetime.now(timezone.utc))
    reasons: list[Reason] = []
    subject = event.get("subject") or {}
    key, key_kind = _subject_key(subject, reasons)
    decision = event.get("decision") or {}
    matter = event.get("matter") or {}
    if not (subject.get("name") or "").strip():
        reasons.append(Reason(R.MISSING_FIELD, "subject.name", "名称缺失 subject name missing"))
    if reasons:
        return Outcome(rejection=rejection_for(event, reasons, now_ms, key, key_kind))
    stype = subject.get("type") or "UNKNOWN"
    if stype == "UNKNOWN":
        stype = "NATURAL_PERSON" if key_kind.startswith("ID_NUMBER") else "LEGAL_PERSON"
    record = {
        "event_id": event["event_id"],
        "source_unit": event["source_unit"],
        "catalog": event["catalog"],
        "category": event["category"],
        "reporting_mode": event["reporting_mode"],
        "source_format": event["source_format"],
        "reported_at": _millis(event["reported_at"]),
        "processed_at": now_ms,
        "subject_type": stype,
        "subject_key": key,
        "subject_key_kind": key_kind,
        "subject_name": subject.get("name").strip(),
        "sex": None,
        "region_code": key[2:8] if key_kind == "USCC" else key[:6],
        "document_number": decision.get("document_number"),
        "authority": decision.get("authority"),
        "decision_date": None,
        "valid_until": None,
        "matter_name": matter.get("name"),
        "cause": matter.get("cause"),
        "content": matter.get("content"),
        "timeliness_days": None,
        "late": False,
        "duplicate_of": None,
        "prohibited_dropped": [],
        "raw": dict(event.get("raw") or {}),
    }
    outcome = Outcome(record=record)
    if is_blacklist_category(record["category"]):
        outcome.blacklist = blacklist_entry_for(record, now_ms)
    return outcome


def rejection_for(event: dict, reasons: list[Reason], now_ms: int, key: str = "", key_kind: str = "",
                  origin: dict | None = None) -> dict:
    subject_shown = mask_id_number(key) if key_kind.startswith("ID_NUMBER") else key
    return {
        "event_id": event.get("event_id") or "",
        "source_unit": event.get("source_unit") or "",
        "catalog": event.get("catalog") or "",
        "category": event.get("category") or "",
        "reported_at": _millis(event["reported_at"]) if event.get("reported_at") is not None else None,
        "rejected_at": now_ms,
        "reasons": [r.as_dict() for r in reasons],
        "origin": origin,
        "subject_masked": subject_shown or None,
        "original": {},
    }


def blacklist_entry_for(record: dict, now_ms: int) -> dict:
    basis = {
        "event_id": record["event_id"],
        "category": record["category"],
        "source_unit": record["source_unit"],
        "document_number": record["document_number"],
        "authority": record["authority"],
        "decision_date": record["decision_date"],
        "valid_until": record["valid_until"],
    }
    return {
        "subject_key": record["subject_key"],
        "subject_type": record["subject_type"],
        "subject_name": record["subject_name"],
        "lists": [record["category"]],
        "basis": [basis],
        "since": record["decision_date"],
        "until": record["valid_until"],
        "status": "ACTIVE",
        "updated_at": now_ms,
    }
