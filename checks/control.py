"""Records the check service sends to credit.inbound so that the stream's own list rules make the
blacklist follow an objection, a credit repair or an exit (lists.py): pure builders of CreditEvents.

- objection filed -> the basis record again with 当前状态 异议 (suspended);
- resolved -> 正常 (restored) or 删除 (deleted, the reason recorded);
- credit repair -> a record of the catalog's repair indicator set naming the repaired decision;
- exit (注销 / 吊销) -> a record of the catalog's deregistration indicator set.

A status record carries the basis's category and document number, which is what identifies the
basis in the stream's list state; its decision date is the day of the status decision. The stream
gives records of this source format a natural key of their own (assessment.CONTROL_SOURCE_FORMAT),
so none is taken for a duplicate of another and left unapplied.
"""
from __future__ import annotations

import hashlib
from datetime import datetime

from checks.answers import iso_day
from creditstream.domain.assessment import CONTROL_SOURCE_FORMAT
from creditstream.domain.normalise import CHINA_TZ

CONTROL_FORMAT = CONTROL_SOURCE_FORMAT
NO_EXPIRY = "2099-12-31"


def control_event_id(reference: str) -> str:
    """Deterministic: a retried send is a replay the stream drops, never a second change."""
    return hashlib.blake2b(f"control\x1f{reference}".encode(), digest_size=16).hexdigest()


def subject_of(entry: dict, clear_number: str | None) -> dict:
    """The CreditEvent subject of a listed subject. A person is named by the clear ID number (the
    stream pseudonymises it again past credit.inbound, which alone may carry it)."""
    kind = entry.get("subject_key_kind") or "OTHER"
    subject = {"type": entry.get("subject_type") or "UNKNOWN", "uscc": None, "id_type": None, "id_number": None,
               "plate": None, "name": entry.get("subject_name"), "sex": None, "legal_representative": None,
               "other_ids": {}}
    if kind.startswith("ID_NUMBER") or entry.get("subject_type") == "NATURAL_PERSON":
        subject.update(type="NATURAL_PERSON", id_type="身份证", id_number=clear_number or entry["subject_key"])
    elif kind == "PLATE":
        subject["plate"] = entry["subject_key"]
    else:
        subject["uscc"] = entry["subject_key"]
    return subject


def _event(event_id: str, unit: str, catalog: str, category: str, subject: dict, decision: dict, matter: dict,
           now: datetime, actor: str, reference: str) -> dict:
    return {"event_id": event_id, "source_unit": unit, "catalog": catalog, "category": category,
            "reporting_mode": "INTERFACE", "source_format": CONTROL_FORMAT, "reported_at": int(now.timestamp() * 1000),
            "reported_by": actor, "source_ref": reference, "subject": subject,
            "decision": {"document_number": None, "document_name": None, "authority": None, "authority_code": None,
                         "date": now.astimezone(CHINA_TZ).date().isoformat(), "valid_from": None,
                         "valid_until": None, "status": None, **decision},
            "matter": {"name": None, "kind": None, "cause": None, "legal_basis": None, "content": None, **matter},
            "raw": {}}


def basis_status_event(entry: dict, basis: dict, status: str, *, reference: str, reason: str, unit: str,
                       actor: str, now: datetime, clear_number: str | None = None) -> dict:
    """The basis record with 当前状态 `status` (异议 / 正常 / 删除)."""
    until = basis.get("valid_until")
    return _event(control_event_id(f"{reference}\x1f{status}"), unit, f"{unit}-异议", basis["category"],
                  subject_of(entry, clear_number),
                  {"document_number": basis.get("document_number"), "authority": basis.get("authority") or unit,
                   "valid_until": iso_day(until) if until is not None else NO_EXPIRY, "status": status},
                  {"name": f"异议处理 {reference}", "cause": reason or status, "content": status},
                  now, actor, reference)


def repair_event(entry: dict, repair_catalog: str, *, decision_number: str, repaired_document: str | None,
                 reason: str, unit: str, actor: str, now: datetime, clear_number: str | None = None) -> dict:
    """信用修复: ends the basis record with the named decision number (every basis when none is named)."""
    return _event(control_event_id(f"repair\x1f{entry['subject_key']}\x1f{decision_number}"), unit, repair_catalog,
                  "OTHER", subject_of(entry, clear_number),
                  {"document_number": decision_number, "authority": unit},
                  {"name": "信用修复", "cause": reason, "legal_basis": repaired_document,
                   "content": reason}, now, actor, f"repair:{decision_number}")


def exit_event(entry: dict, exit_catalog: str, *, kind: str, decision_number: str, reason: str, unit: str,
               actor: str, now: datetime, clear_number: str | None = None) -> dict:
    """注销 or 吊销 of the subject: ends the basis of the categories the catalog names."""
    return _event(control_event_id(f"exit\x1f{entry['subject_key']}\x1f{decision_number}"), unit, exit_catalog,
                  "OTHER", subject_of(entry, clear_number),
                  {"document_number": decision_number, "authority": unit},
                  {"name": f"{kind}登记", "kind": kind, "cause": reason, "content": kind}, now, actor,
                  f"exit:{decision_number}")
