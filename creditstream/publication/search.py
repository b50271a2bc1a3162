"""The public search over the stored history: candidates by name or USCC from the published view
(records_published: 5-year retention of persons' negative records already applied), and what
the rules need to judge them (later status reports, open objections, list state, repairs).
Values only as parameters."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

from creditstream.domain.identifiers import compact, normalise_document_number
from creditstream.publication.rules import OBJECTION, SHOWN, PublicationRules, Standing, judge, public_view

MAX_SUBJECTS = 20
MAX_RECORDS = 500
_USCC = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$")
# A resident ID number (18 digits with a birth date), or a masked one.
# (Persons are keyed by pseudonyms, so such a search would find nothing anyway: this says why.)
_PERSON_ID = re.compile(r"^(\d{6}(19|20)\d{2}(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])\d{3}[\dX]|(?=.*\*)\d{6}[\d*]{8,11}[\dX*])$")
_OLD_CODE = re.compile(r"^(\d{6})?[0-9A-Z]{8}[0-9X]$")  # 组织机构代码, 税务登记号

RECORD_COLUMNS = ("event_id", "category", "catalog", "subject_type", "subject_key", "subject_key_kind",
                  "subject_name", "subject_masked", "legal_representative", "document_number", "authority",
                  "decision_date", "valid_from", "valid_until", "decision_status", "matter_name", "matter_kind",
                  "cause", "legal_basis", "content", "reported_at", "processed_at")


class SearchInputError(ValueError):
    pass


@dataclass(frozen=True)
class Query:
    kind: str     # uscc | name
    value: str


def parse_query(text: str | None) -> Query:
    """A USCC (or an organisation's older code), else a name of at least 2 characters. An ID number
    is not a search key: persons are found by name only, and shown masked."""
    text = (text or "").strip()
    if not text:
        raise SearchInputError("请输入企业名称或统一社会信用代码 q is required: a name or a USCC")
    if len(text) > 60:
        raise SearchInputError("查询内容过长 q is at most 60 characters")
    code = compact(text).upper()
    if _PERSON_ID.match(code) or (sum(c.isdigit() for c in text) >= 8 and not (_USCC.match(code) or _OLD_CODE.match(code))):
        raise SearchInputError("不支持按身份证号查询；请输入名称或统一社会信用代码 persons are not searched by ID number")
    if _USCC.match(code) or (_OLD_CODE.match(code) and any(c.isdigit() for c in code)):
        return Query("uscc", code)
    if len(text) < 2:
        raise SearchInputError("名称至少两个字 a name needs at least 2 characters")
    return Query("name", text)


def _rows(client, sql: str, **params) -> list[dict]:
    result = client.query(sql, parameters=params)
    return [dict(zip(result.column_names, row)) for row in result.result_rows]


def _day(value) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    return value


def find(client, database: str, query: Query, rules: PublicationRules, repair_catalogs: list[str],
         today: date) -> dict:
    categories = list(rules.categories)
    match = "subject_key = {value:String}" if query.kind == "uscc" else \
        "positionCaseInsensitiveUTF8(subject_name, {value:String}) > 0"
    keys = [r["subject_key"] for r in _rows(
        client, f"SELECT subject_key, any(subject_name) FROM {database}.records_published "
                f"WHERE category IN {{categories:Array(String)}} AND {match} GROUP BY subject_key "
                f"ORDER BY subject_key LIMIT {{limit:UInt32}}",
        categories=categories, value=query.value, limit=MAX_SUBJECTS)]
    if not keys:
        return {"query": {"kind": query.kind}, "records": [], "withheld": {}}
    records = _rows(
        client, f"SELECT {', '.join(RECORD_COLUMNS)}, toDate32(reported_at, 'Asia/Shanghai') AS reported_on "
                f"FROM {database}.records_published WHERE subject_key IN {{keys:Array(String)}} "
                f"AND category IN {{categories:Array(String)}} ORDER BY reported_at, processed_at, event_id "
                f"LIMIT {{limit:UInt32}}", keys=keys, categories=categories, limit=MAX_RECORDS * 4)
    open_objections = {r["basis_event_id"] for r in _rows(
        client, f"SELECT basis_event_id, argMax(state, sequence) AS state FROM {database}.objection_events "
                f"WHERE subject_key IN {{keys:Array(String)}} GROUP BY objection_id, basis_event_id "
                f"HAVING state != 'RESOLVED'", keys=keys)}
    list_status: dict[tuple[str, str, str], str] = {}
    for row in _rows(
            client, f"SELECT subject_key, argMax(basis_categories, kafka_offset) AS categories, "
                    f"argMax(basis_document_numbers, kafka_offset) AS documents, "
                    f"argMax(basis_statuses, kafka_offset) AS statuses FROM {database}.blacklist_history "
                    f"WHERE subject_key IN {{keys:Array(String)}} GROUP BY subject_key", keys=keys):
        for category, document, status in zip(row["categories"], row["documents"], row["statuses"]):
            list_status[(row["subject_key"], category, document or "")] = status
    repairs: dict[str, list[tuple[str | None, date]]] = {}
    if repair_catalogs:
        for row in _rows(
                client, f"SELECT subject_key, legal_basis, coalesce(decision_date, toDate32(reported_at, 'Asia/Shanghai')) "
                        f"AS day FROM {database}.records WHERE subject_key IN {{keys:Array(String)}} "
                        f"AND catalog IN {{catalogs:Array(String)}}", keys=keys, catalogs=repair_catalogs):
            repairs.setdefault(row["subject_key"], []).append((row["legal_basis"], _day(row["day"])))
    return {"query": {"kind": query.kind}, **judge_all(records, open_objections, list_status, repairs, today, rules)}


def decision_key(record: dict) -> tuple[str, str, str]:
    """One decision, whoever reported it and however often (a later report may only change its status)."""
    return (record["subject_key"], record["category"], record.get("document_number") or f"#{record['event_id']}")


def judge_all(records: list[dict], open_objections: set[str], list_status: dict, repairs: dict, today: date,
              rules: PublicationRules) -> dict:
    """Fold the reports of each decision (records in report order) and judge it: shown records
    in public form, objected ones as a note, the rest only counted."""
    groups: dict[tuple, list[dict]] = {}
    for record in records:
        groups.setdefault(decision_key(record), []).append(record)
    shown, withheld = [], {}
    for key, reports in groups.items():
        first = reports[0]
        repaired = [day for document, day in repairs.get(first["subject_key"], ())
                    if not document or normalise_document_number(document) == first.get("document_number")]
        standing = Standing(
            latest_status=next((r["decision_status"] for r in reversed(reports) if r.get("decision_status")), None),
            objection_open=any(r["event_id"] in open_objections for r in reports),
            list_status=list_status.get((first["subject_key"], first["category"], first.get("document_number") or "")),
            repaired_on=min(repaired) if repaired else None)
        verdict = judge(first, standing, today, rules)
        if verdict.shown:
            shown.append(public_view(first, verdict))
        elif verdict.outcome == OBJECTION:
            shown.append({"record_id": first["event_id"], "category": first["category"],
                          "subject_name": first.get("subject_name"), "withheld": OBJECTION, "note": verdict.note})
        if verdict.outcome != SHOWN:
            withheld[verdict.outcome] = withheld.get(verdict.outcome, 0) + 1
    shown.sort(key=lambda v: (v.get("decision_date") or "", v["record_id"]), reverse=True)
    return {"records": shown[:MAX_RECORDS], "withheld": withheld}
