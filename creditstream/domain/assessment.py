"""Assess one inbound credit event: normalise, scrub, validate, enrich. The result is a
ValidatedRecord or a Rejection with every reason, plus what the record means for the lists.

Plain functions over dicts shaped like the Avro records; no Kafka, no I/O. State that spans
records (replays, duplicates across units, the lists) is applied afterwards by the caller with
`dedup` and `lists`, so this stays a function of the event, the time and the catalog.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from functools import lru_cache

from creditstream.domain import flags as F
from creditstream.domain import reasons as R
from creditstream.domain.catalog import UnitCatalog, load_catalog
from creditstream.domain.categories import FIELD_LABELS_ZH, REQUIRED_FIELDS
from creditstream.domain.divisions import is_known_division
from creditstream.domain.identifiers import (compact, division_code, id15_to_18, identify_subject, is_masked_id,
                                             mask_id_number, normalise_document_number, sex_from_id,
                                             uscc_subject_type)
from creditstream.domain.lists import ListChange, list_change_for
from creditstream.domain.normalise import (InvalidDate, InvalidSex, china_date_of_millis, epoch_days, is_no_expiry,
                                           normalise_name, normalise_sex, normalise_text, parse_date, present)
from creditstream.domain.privacy import mask_ids_in_text, scrub
from creditstream.domain.pseudonym import Pseudonymiser
from creditstream.domain.reasons import Reason
from creditstream.domain.timeliness import working_days_between


@dataclass(slots=True)
class Outcome:
    record: dict | None = None          # ValidatedRecord, when accepted
    rejection: dict | None = None       # Rejection, when not
    list_change: ListChange | None = None  # what an accepted record does to the black or red list
    natural_key: str | None = None      # the record's identity across units and platforms
    prohibited_dropped: list[str] = field(default_factory=list)  # names removed, for the unit's count

    @property
    def key(self) -> str:
        if self.record is not None:
            return self.record["subject_key"]
        return self.rejection["event_id"]


@lru_cache(maxsize=1)
def default_catalog() -> UnitCatalog:
    return load_catalog()


def _millis(value) -> int:
    if isinstance(value, datetime):
        return int(value.timestamp() * 1000)
    return int(value)


@lru_cache(maxsize=4)
def _instant(now: datetime) -> tuple[int, date]:
    """`now` in millis and its China date: a batch assesses all its events at one `now`."""
    now_ms = _millis(now)
    return now_ms, china_date_of_millis(now_ms)


# 当前状态 as units report it (XK_ZT / CF_ZT codes or text), normalised to the text.
_DECISION_STATUS = {"0": "正常", "正常": "正常", "1": "撤销", "撤销": "撤销", "已撤销": "撤销",
                    "2": "异议", "异议": "异议", "3": "其他", "其他": "其他", "删除": "删除", "已删除": "删除"}

_PERSON_FIELDS = ("subject.name", "subject.sex")
_ORGANISATION_FIELDS = ("subject.name",)


def _date(raw: str | None, field_name: str, reasons: list[Reason]) -> date | None:
    text = present(raw)
    if text is None:
        return None
    try:
        return parse_date(text)
    except InvalidDate:
        reasons.append(Reason(R.INVALID_DATE, field_name,
                              f"{FIELD_LABELS_ZH.get(field_name, field_name)}无法识别 unreadable date: {text[:40]}"))
        return None


def _subject_type(reported: str, kind: str, key: str, flags: list[str]) -> str:
    if kind == "USCC":
        derived = uscc_subject_type(key)
        if reported in ("UNKNOWN", "LEGAL_PERSON", "INDIVIDUAL_BUSINESS") and reported != derived:
            flags.append(F.SUBJECT_TYPE_FROM_USCC)
            return derived
        return reported
    if reported != "UNKNOWN":
        return reported
    if kind.startswith("ID_NUMBER"):
        return "NATURAL_PERSON"
    return "VEHICLE" if kind == "PLATE" else "LEGAL_PERSON"


def natural_key(category: str, subject_key: str, document_number: str | None, decision_date: date | None,
                decision_status: str | None, matter_name: str | None, cause: str | None, content: str | None) -> str:
    """The identity of a record whoever reports it: category, subject, decision (document number
    and date) and its status. Without a document number (arrears), the matter stands in for it."""
    parts = [category, subject_key, document_number or "", decision_date.isoformat() if decision_date else "",
             decision_status or ""]
    if not document_number:
        parts += [matter_name or "", cause or "", content or ""]
    return hashlib.blake2b("\x1f".join(parts).encode(), digest_size=12).hexdigest()


# source_format of the records the check service sends to apply an objection, a repair or an exit.
CONTROL_SOURCE_FORMAT = "check-service"
# Kinds of person key that are a real document number: pseudonymised past validation. A masked
# number (ID_NUMBER_MASKED) is already unreadable and stays as it is.
_PERSONAL_KEY_KINDS = frozenset({"ID_NUMBER", "OTHER"})
# Raw fields that carry the legal representative's (a natural person's) ID number.
LEGAL_REPRESENTATIVE_ID_FIELDS = ("XK_FR_ZJHM", "XK_FR_SFZH", "CF_FR_ZJHM", "CF_FR_SFZH", "法定代表人证件号码",
                                  "法定代表人身份证号码", "法定代表人或者负责人证件号码", "法定代表人或负责人证件号码")


def _legal_representative_id(event_raw: dict | None) -> str | None:
    if not event_raw:
        return None
    for name in LEGAL_REPRESENTATIVE_ID_FIELDS:
        value = event_raw.get(name)
        if value is None:  # most records: none of these fields
            continue
        value = present(value)
        if value:
            number = compact(value)
            return id15_to_18(number) or number if len(number) == 15 else number
    return None


def assess(event: dict, now: datetime | None = None, catalog: UnitCatalog | None = None,
           pseudonyms: Pseudonymiser | None = None) -> Outcome:
    """`pseudonyms`: the deployment's keys; a natural person's ID number (and a legal
    representative's) leaves as a pseudonym and a sealed copy. Without it the key stays as
    reported: only for dry runs whose result never leaves the machine (`creditstream validate`)."""
    catalog = catalog or default_catalog()
    now_ms, today = _instant(now or datetime.now(timezone.utc))
    reasons: list[Reason] = []
    flags: list[str] = []
    subject = event.get("subject") or {}
    decision = event.get("decision") or {}
    matter = event.get("matter") or {}

    raw, dropped = scrub(event.get("raw"))
    other_ids, dropped_ids = scrub(subject.get("other_ids"))
    if dropped_ids:
        dropped = sorted(dropped + [f"subject.other_ids.{n}" for n in dropped_ids])
    if dropped:
        flags.append(F.PROHIBITED_DROPPED)

    ident = identify_subject(subject, catalog.pilot_usccs)
    reasons.extend(ident.problems)
    flags.extend(ident.flags)
    category = event.get("category") or "OTHER"
    stype = _subject_type(subject.get("type") or "UNKNOWN", ident.kind, ident.key, flags)
    person = stype == "NATURAL_PERSON"

    name = normalise_name(subject.get("name"))
    sex_invalid = False
    try:
        sex = normalise_sex(subject.get("sex"))
    except InvalidSex as exc:
        sex, sex_invalid = None, True
        reasons.append(Reason(R.INVALID_SEX, "subject.sex", f"性别无法识别 unknown sex value: {str(exc)[:20]}"))
    if person and sex is None and not sex_invalid:
        sex = sex_from_id(ident.key, ident.kind)
        if sex:
            flags.append(F.SEX_FROM_ID)

    values = {
        "subject.name": name,
        "subject.sex": sex,
        "matter.name": normalise_text(matter.get("name")),
        "matter.cause": normalise_text(matter.get("cause")),
        "decision.document_number": normalise_document_number(present(decision.get("document_number"))),
        "decision.authority": normalise_text(decision.get("authority")),
        "decision.date": present(decision.get("date")),
    }
    if not ident.key:
        id_field = "subject.id_number" if person else ("subject.plate" if stype == "VEHICLE" else "subject.uscc")
        reasons.append(Reason(R.MISSING_SUBJECT_ID, id_field,
                              f"{FIELD_LABELS_ZH[id_field]}缺失 subject id missing"))
    spec = catalog.indicator_sets.get(event.get("catalog") or "")
    required = (_PERSON_FIELDS if person else _ORGANISATION_FIELDS) + (
        spec.required if spec and spec.required is not None else REQUIRED_FIELDS.get(category, ("matter.name",)))
    for name_of_field in required:
        if values.get(name_of_field) is None and not (name_of_field == "subject.sex" and sex_invalid):
            reasons.append(Reason(R.MISSING_FIELD, name_of_field,
                                  f"{FIELD_LABELS_ZH.get(name_of_field, name_of_field)}缺失 {name_of_field} missing"))

    decided = _date(values["decision.date"], "decision.date", reasons)
    valid_from = _date(decision.get("valid_from"), "decision.valid_from", reasons)
    until_text = present(decision.get("valid_until"))
    valid_until = None
    if until_text is not None:
        if is_no_expiry(until_text):
            flags.append(F.NO_EXPIRY)
        else:
            valid_until = _date(until_text, "decision.valid_until", reasons)
            if valid_until is not None and is_no_expiry(until_text, valid_until):
                valid_until = None
                flags.append(F.NO_EXPIRY)
    if decided is not None:
        if decided > today:
            reasons.append(Reason(R.DATE_IN_FUTURE, "decision.date",
                                  f"决定时间晚于今日 decision date {decided.isoformat()} is in the future"))
        if valid_until is not None and valid_until < decided:
            reasons.append(Reason(R.VALIDITY_BEFORE_DECISION, "decision.valid_until",
                                  f"决定有效期早于决定时间 validity ends {valid_until.isoformat()} "
                                  f"before the decision {decided.isoformat()}"))

    if reasons:
        rejection = rejection_for(event, reasons, now_ms, ident.key, ident.kind)
        rejection["original"] = _scrubbed_original(event, raw, other_ids)
        return Outcome(rejection=rejection, prohibited_dropped=dropped)

    unit = catalog.unit(event["source_unit"])
    if unit is None:
        flags.append(F.UNKNOWN_UNIT)
    reported_at = _millis(event["reported_at"])
    timeliness = late = None
    if decided is not None:
        reported_day = china_date_of_millis(reported_at)
        timeliness = working_days_between(decided, reported_day)
        late = (unit.deadline if unit else catalog.default_deadline).is_late(decided, reported_day)
    region = division_code(ident.key, ident.kind)
    if not is_known_division(region):
        region = (unit.region or None) if unit else None
    reported_status = present(decision.get("status"))
    status = _DECISION_STATUS.get(reported_status or "", reported_status)
    subject_key, masked, sealed = ident.key, None, None
    if person or ident.kind.startswith("ID_NUMBER"):
        masked = ident.key if ident.kind == "ID_NUMBER_MASKED" else mask_id_number(ident.key)
    if pseudonyms is not None and person and ident.kind in _PERSONAL_KEY_KINDS:
        subject_key, sealed = pseudonyms.pseudonym(ident.key), pseudonyms.seal(ident.key)
    rep_number = _legal_representative_id(event.get("raw")) if not person else None
    rep_key = rep_sealed = None
    if rep_number and pseudonyms is not None and not is_masked_id(rep_number):
        rep_key, rep_sealed = pseudonyms.pseudonym(rep_number), pseudonyms.seal(rep_number)
    record = {
        "event_id": event["event_id"],
        "source_unit": event["source_unit"],
        "catalog": event["catalog"],
        "category": category,
        "reporting_mode": event["reporting_mode"],
        "source_format": event["source_format"],
        "reported_at": reported_at,
        "processed_at": now_ms,
        "subject_type": stype,
        "subject_key": subject_key,
        "subject_key_kind": ident.kind,
        "subject_name": name,
        "sex": sex,
        "region_code": region,
        "document_number": values["decision.document_number"],
        "authority": values["decision.authority"],
        "decision_date": epoch_days(decided) if decided else None,
        "valid_until": epoch_days(valid_until) if valid_until else None,
        "matter_name": values["matter.name"],
        "cause": values["matter.cause"],
        "content": normalise_text(matter.get("content")),
        "timeliness_days": timeliness,
        "late": bool(late),
        "duplicate_of": None,
        "prohibited_dropped": dropped,
        "raw": raw,
        "reported_by": event.get("reported_by"),
        "source_ref": event.get("source_ref"),
        "legal_representative": normalise_name(subject.get("legal_representative")),
        "document_name": normalise_text(decision.get("document_name")),
        "authority_code": present(decision.get("authority_code")),
        "valid_from": epoch_days(valid_from) if valid_from else None,
        "decision_status": status,
        "matter_kind": normalise_text(matter.get("kind")),
        "legal_basis": normalise_text(matter.get("legal_basis")),
        "other_ids": other_ids,
        "flags": flags,
        "subject_masked": masked,
        "subject_sealed": sealed,
        "legal_representative_id_key": rep_key,
        "legal_representative_id_masked": mask_id_number(rep_number) if rep_number else None,
        "legal_representative_id_sealed": rep_sealed,
    }
    outcome = Outcome(record=record, prohibited_dropped=dropped)
    outcome.natural_key = natural_key(category, subject_key, record["document_number"], decided, status,
                                      record["matter_name"], record["cause"], record["content"])
    if event.get("source_format") == CONTROL_SOURCE_FORMAT:
        # A status change the platform itself decided (objection filed, restored, deleted) is its
        # own record, never a duplicate of an earlier one: object, restore, object again on one
        # day must all apply. A retried send keeps its event id and is dropped as a replay.
        outcome.natural_key = natural_key(category, subject_key, record["document_number"], decided,
                                          f"{status}\x1f{event['event_id']}", record["matter_name"],
                                          record["cause"], record["content"])
    effect = catalog.list_effect(record["catalog"], category)
    if effect:
        outcome.list_change = list_change_for(effect, record, raw)
    return outcome


def _scrubbed_original(event: dict, raw: dict, other_ids: dict) -> dict[str, str]:
    """What the unit sent, for the clerk who fixes it: the typed fields (ID numbers masked) and
    the raw fields, prohibited attributes already removed."""
    original: dict[str, str] = {}
    for part in ("subject", "decision", "matter"):
        for name, value in (event.get(part) or {}).items():
            if isinstance(value, str) and value:
                original[f"{part}.{name}"] = mask_ids_in_text(value)
    number = (event.get("subject") or {}).get("id_number")
    if number:
        original["subject.id_number"] = mask_id_number(number.strip())
    for name, value in other_ids.items():
        original[f"subject.other_ids.{name}"] = value
    for name, value in raw.items():
        original[f"raw.{name}"] = value
    return original


def rejection_for(event: dict, reasons: list[Reason], now_ms: int, key: str = "", key_kind: str = "",
                  origin: dict | None = None) -> dict:
    # Persons' numbers (ID cards, and passports under kind OTHER) are masked; codes of organisations are public.
    subject_shown = mask_id_number(key) if key_kind.startswith("ID_NUMBER") or key_kind == "OTHER" else key
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
        "source_ref": event.get("source_ref"),
        "reported_by": event.get("reported_by"),
    }
