"""What a check answers, as pure functions: the queried id normalised, a blacklist entry read as
of today (expired bases no longer count, bases under an open objection are suspended), and the
CheckRecord that audits the answer. No Kafka, no HTTP: tested and benchmarked alone.

Privacy: a natural person's ID number never appears in an answer or a record unless the caller
holds read_personal; answers show the masked form, records carry the pseudonym.
"""
from __future__ import annotations

from datetime import date, timedelta
from typing import Mapping, NamedTuple

from creditstream.domain.identifiers import compact, identify_subject, is_masked_id, mask_id_number
from creditstream.domain.lists import LIVE

_EPOCH = date(1970, 1, 1)
STATUS_LABELS = {"LISTED": "在黑名单 listed", "UNDER_OBJECTION": "异议处理中，暂停公示 under objection (publication suspended)",
                 "NOT_LISTED": "未列入 not listed"}
MAX_ID_CHARS = 64


class InvalidSubjectId(ValueError):
    """A subject id a check cannot use; the message says why (never quoting an ID number in clear)."""


class SubjectQuery(NamedTuple):
    number: str        # the normalised id: USCC / code, or a person's 18-digit number (clear: stays in the process)
    kind: str          # SubjectKeyKind symbol
    person: bool
    shown: str         # what answers may show: the code, or the masked number


def parse_subject_id(text: str, pilot_usccs: frozenset[str] = frozenset()) -> SubjectQuery:
    """USCC (or a pre-USCC organisation code or tax number) or a resident ID number, as a window
    types it: case, spaces and separators do not matter; old 15-digit ID numbers become 18."""
    if not isinstance(text, str) or not text.strip():
        raise InvalidSubjectId("主体标识为空 the subject id is empty: give a USCC or an ID number")
    if len(text) > MAX_ID_CHARS:
        raise InvalidSubjectId(f"主体标识过长 the subject id has more than {MAX_ID_CHARS} characters")
    code = compact(text)
    if is_masked_id(code) or "*" in code or "＊" in code:
        raise InvalidSubjectId("脱敏号码无法核查 a masked ID number cannot be checked: give the full number")
    if not code.isascii() or not code.isalnum():
        raise InvalidSubjectId("主体标识含非法字符 the subject id may hold only digits and letters")
    looks_personal = code[:-1].isdigit() and len(code) in (15, 18)
    if looks_personal:
        person = identify_subject({"type": "NATURAL_PERSON", "id_number": code})
        if not person.problems:
            return SubjectQuery(person.key, "ID_NUMBER", True, mask_id_number(person.key))
    organisation = identify_subject({"type": "LEGAL_PERSON", "uscc": code}, pilot_usccs)
    if not organisation.problems:
        return SubjectQuery(organisation.key, organisation.kind, False, organisation.key)
    if looks_personal and len(code) == 18 and code[:6].isdigit() and code[:2] not in ("91", "92", "93"):
        raise InvalidSubjectId(f"身份证件号码不符合 GB 11643 the ID number fails its check digit or date: {mask_id_number(code)}")
    raise InvalidSubjectId(organisation.problems[0].message)


def iso_day(days: int | None) -> str | None:
    return None if days is None else (_EPOCH + timedelta(days=days)).isoformat()


def read_bases(entry: dict, today_days: int, open_objections: Mapping[str, str]) -> list[tuple[dict, str, str | None]]:
    """Each basis with its status today and the open objection against it: a live basis whose
    period ended is EXITED (期满) even before the stream's daily sweep; an active one under an open
    objection is SUSPENDED even before the stream has applied it."""
    out = []
    for basis in entry.get("basis") or ():
        status = basis.get("status") or "ACTIVE"
        objection = open_objections.get(basis["event_id"]) if open_objections else None
        until = basis.get("valid_until")
        if status in LIVE and until is not None and until < today_days:
            status = "EXITED"
        elif status == "ACTIVE" and objection:
            status = "SUSPENDED"
        out.append((basis, status, objection))
    return out


def standing(entry: dict | None, today_days: int, open_objections: Mapping[str, str] = {}) -> dict:
    """The subject's lists as of today: per list its status, since and until, and the basis
    records (document numbers, authorities); ``listed`` when any basis is ACTIVE."""
    if entry is None:
        return {"listed": False, "status": "NOT_LISTED", "status_label": STATUS_LABELS["NOT_LISTED"], "lists": []}
    by_list: dict[str, list] = {}
    for basis, status, objection in read_bases(entry, today_days, open_objections):
        if status in LIVE:
            by_list.setdefault(basis["category"], []).append((basis, status, objection))
    lists = []
    for category in sorted(by_list):
        bases = by_list[category]
        active = [b for b, s, _ in bases if s == "ACTIVE"]
        counted = active or [b for b, _, _ in bases]
        untils = [b.get("valid_until") for b in counted]
        dates = [b["decision_date"] for b in counted if b.get("decision_date") is not None]
        lists.append({
            "list": category,
            "status": "ACTIVE" if active else "SUSPENDED",
            "since": iso_day(min(dates)) if dates else None,
            "until": None if None in untils else iso_day(max(untils)),
            "basis": [{"event_id": b["event_id"], "document_number": b.get("document_number"),
                       "authority": b.get("authority"), "source_unit": b["source_unit"],
                       "decision_date": iso_day(b.get("decision_date")), "valid_until": iso_day(b.get("valid_until")),
                       "status": s, "objection_id": o} for b, s, o in bases],
        })
    listed = any(item["status"] == "ACTIVE" for item in lists)
    status = "LISTED" if listed else ("UNDER_OBJECTION" if lists else "NOT_LISTED")
    return {"listed": listed, "status": status, "status_label": STATUS_LABELS[status], "lists": lists}


def subject_view(query: SubjectQuery, entry: dict | None) -> dict:
    """Who was checked, as an answer may show it (masked for persons)."""
    return {"id": query.shown, "kind": query.kind, "type": (entry or {}).get("subject_type")
            or ("NATURAL_PERSON" if query.person else None), "name": (entry or {}).get("subject_name")}


def record_key(query: SubjectQuery, entry: dict | None, pseudonym: str | None) -> tuple[str, str]:
    """The subject key and kind a CheckRecord carries: the code for organisations; for persons the
    pseudonym (joinable with the history), never the number."""
    if not query.person:
        return query.number, query.kind
    if entry is not None and entry.get("subject_key") and entry["subject_key"] != query.number:
        return entry["subject_key"], entry.get("subject_key_kind") or "ID_NUMBER"
    return (pseudonym, "ID_NUMBER") if pseudonym else (query.shown, "ID_NUMBER_MASKED")


NAME_ONLY_LABEL = "仅按名称匹配，候选不作为认定依据 matched by name only: candidates, not proof"
NO_CANDIDATE_NOTE = ("名称未检索到候选，不能据此认定未列入，请以统一社会信用代码或身份证件号码核查 no listed name resembles "
                     "it; this is not a 'not listed': check by USCC or ID number")


def name_answer(typed: str, candidates: list[dict], total: int) -> dict:
    """The answer to a check by name only: ranked candidates, each with its reason and standing.
    Never a plain "not listed": ``listed`` stays None and an empty search says why it proves nothing."""
    shown = list(candidates)
    any_listed = any(c["listed"] for c in shown)
    answer = {"match": "NAME", "match_label": NAME_ONLY_LABEL, "subject": {"id": None, "kind": None, "type": None,
                                                                           "name": typed},
              "listed": None, "status": "CANDIDATES" if shown else "NO_CANDIDATE",
              "candidates_listed": any_listed, "candidates": shown, "candidates_total": total}
    if not shown:
        answer["note"] = NO_CANDIDATE_NOTE
    return answer


def candidate_view(candidate: dict, entry: dict | None, today_days: int, open_objections: Mapping[str, str]) -> dict:
    """One name candidate with its standing today (an organisation: its code is public)."""
    held = standing(entry, today_days, open_objections)
    return {**candidate, "type": (entry or {}).get("subject_type"), "listed": held["listed"],
            "status": held["status"], "lists": held["lists"]}


def name_hits(answer: dict) -> dict:
    """The name answer as check_record reads an answer: every candidate's lists, each hit keyed by
    the candidate's subject key."""
    return {"listed": bool(answer["candidates_listed"]),
            "lists": [{**item, "subject_key": c["key"]} for c in answer["candidates"] for item in c["lists"]]}


def check_record(check_id: str, now_ms: int, requesting_unit: str, caller: str, matter: dict,
                 subject_key: str, key_kind: str, subject_type: str | None, name: str | None, answer: dict,
                 index: dict, match: str = "KEY") -> dict:
    """The CheckRecord of one answer (what credit.checks carries)."""
    hits = [{"list": item["list"], "status": item["status"], "subject_key": item.get("subject_key", subject_key),
             "since": _days(item["since"]), "until": _days(item["until"]),
             "basis_event_ids": [b["event_id"] for b in item["basis"]]} for item in answer["lists"]]
    return {"check_id": check_id, "requested_at": now_ms, "requesting_unit": requesting_unit, "caller": caller,
            "matter": {"kind": matter["kind"], "name": matter.get("name"), "reference": matter.get("reference")},
            "subject": {"key": subject_key, "key_kind": key_kind, "subject_type": subject_type or "UNKNOWN", "name": name},
            "match": match, "listed": answer["listed"], "hits": hits,
            "index": {"version": index["version"], "as_of": index.get("as_of_ms"), "stale": bool(index.get("stale"))}}


def _days(iso: str | None) -> int | None:
    return None if iso is None else (date.fromisoformat(iso) - _EPOCH).days
