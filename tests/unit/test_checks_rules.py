"""The check service's pure rules: ids as windows type them, an entry read as of today, objection
deadlines and transitions, and control records the stream's own rules accept and apply."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from checks import answers as A
from checks.control import basis_status_event, exit_event, repair_event
from creditstream.domain import objections as O
from creditstream.domain.assessment import assess
from creditstream.domain.identifiers import normalise_document_number
from creditstream.domain.normalise import CHINA_TZ, epoch_days
from creditstream.domain.pseudonym import ephemeral_pseudonymiser

USCC = "91110000600037341L"
PERSON = "110101199003074573"


@pytest.mark.parametrize("typed, number, kind", [
    (USCC, USCC, "USCC"), (" 9111 0000-6000 3734 1l ", USCC, "USCC"), ("110101900307457", PERSON, "ID_NUMBER"),
    (PERSON.lower(), PERSON, "ID_NUMBER"), (f" {PERSON[:6]} {PERSON[6:14]} {PERSON[14:]} ", PERSON, "ID_NUMBER"),
])
def test_ids_are_normalised(typed, number, kind):
    query = A.parse_subject_id(typed)
    assert (query.number, query.kind) == (number, kind)
    assert query.shown == (A.mask_id_number(number) if kind == "ID_NUMBER" else number)


@pytest.mark.parametrize("typed, words", [
    ("", "empty"), ("3423011964****3224", "masked"), ("中文名称", "digits and letters"), ("ABC", "18 characters"),
    ("110101199003074578", "GB 11643"), ("91420200MA4XXXXXX0", "GB 32100"), ("9" * 70, "more than"),
])
def test_unusable_ids_are_refused_with_a_reason_that_quotes_no_number(typed, words):
    with pytest.raises(A.InvalidSubjectId) as caught:
        A.parse_subject_id(typed)
    assert words in str(caught.value)
    assert "110101199003074578" not in str(caught.value)


def basis(event_id: str, category="TAX_VIOLATION", status="ACTIVE", until: date | None = None, doc="黄税罚〔2026〕1号"):
    return {"event_id": event_id, "category": category, "source_unit": "TAX-420200",
            "document_number": normalise_document_number(doc),
            "authority": "国家税务总局黄石市税务局", "decision_date": epoch_days(date(2026, 3, 2)),
            "valid_until": epoch_days(until) if until else None, "status": status}


def entry(*bases, key=USCC, kind="USCC", stype="LEGAL_PERSON", **extra):
    return {"subject_key": key, "subject_key_kind": kind, "subject_type": stype, "subject_name": "黄石恒达建工有限公司",
            "lists": sorted({b["category"] for b in bases}), "basis": list(bases), "status": "ACTIVE",
            "updated_at": 0, **extra}


TODAY = epoch_days(date(2026, 11, 23))


def test_standing_lists_active_basis_with_since_until_and_documents():
    answer = A.standing(entry(basis("e1"), basis("e2", "COURT_DISHONEST", until=date(2027, 1, 1))), TODAY)
    assert answer["listed"] and answer["status"] == "LISTED"
    assert [item["list"] for item in answer["lists"]] == ["COURT_DISHONEST", "TAX_VIOLATION"]
    court = answer["lists"][0]
    assert court["since"] == "2026-03-02" and court["until"] == "2027-01-01"
    assert court["basis"][0]["document_number"] == "黄税罚[2026]1号"


def test_an_expired_basis_no_longer_counts_even_before_the_sweep():
    answer = A.standing(entry(basis("e1", until=date(2026, 11, 22))), TODAY)
    assert not answer["listed"] and answer["status"] == "NOT_LISTED" and answer["lists"] == []


def test_an_open_objection_suspends_its_basis_only():
    both = entry(basis("e1"), basis("e2", doc="黄税罚〔2026〕2号"))
    one = A.standing(both, TODAY, {"e1": "YY1"})
    assert one["listed"] and one["lists"][0]["status"] == "ACTIVE"
    assert {b["event_id"]: (b["status"], b["objection_id"]) for b in one["lists"][0]["basis"]} == {
        "e1": ("SUSPENDED", "YY1"), "e2": ("ACTIVE", None)}
    all_suspended = A.standing(both, TODAY, {"e1": "YY1", "e2": "YY2"})
    assert not all_suspended["listed"] and all_suspended["status"] == "UNDER_OBJECTION"
    assert all_suspended["lists"][0]["status"] == "SUSPENDED"


def test_repaired_or_exited_basis_is_not_listed():
    answer = A.standing(entry(basis("e1", status="REPAIRED"), basis("e2", status="EXITED")), TODAY)
    assert answer == {"listed": False, "status": "NOT_LISTED", "status_label": A.STATUS_LABELS["NOT_LISTED"], "lists": []}


def test_check_record_of_a_person_carries_the_pseudonym_never_the_number():
    query = A.parse_subject_id(PERSON)
    person = entry(basis("e1", "COURT_DISHONEST"), key="pid:h1:" + "a" * 32, kind="ID_NUMBER", stype="NATURAL_PERSON")
    key, kind = A.record_key(query, person, "pid:h1:" + "b" * 32)
    assert key == "pid:h1:" + "a" * 32 and kind == "ID_NUMBER"
    assert A.record_key(query, None, None) == (A.mask_id_number(PERSON), "ID_NUMBER_MASKED")
    record = A.check_record("c1", 1, "FGW", "t1", {"kind": "行政审批"}, key, kind, "NATURAL_PERSON", None,
                            A.standing(person, TODAY), {"version": "v", "as_of_ms": 5, "stale": False})
    assert PERSON not in repr(record) and record["listed"] and record["hits"][0]["basis_event_ids"] == ["e1"]


# ------------------------------------------------------------------------------------ objections
def ms(year, month, day, hour=10) -> int:
    return int(datetime(year, month, day, hour, tzinfo=CHINA_TZ).timestamp() * 1000)


def test_deadlines_count_working_days_in_beijing():
    # Filed on Friday 2026-11-20: Mon, Tue, Wed are the three working days; due at Thursday 00:00.
    assert O.due_at(ms(2026, 11, 20), 3) == ms(2026, 11, 26, 0)
    # National Day: 2026-10-01..07 are holidays.
    assert O.add_working_days(date(2026, 9, 30), 1) > date(2026, 10, 7)


TARGET = {"subject_key": USCC, "subject_masked": None, "basis_event_id": "e1", "category": "TAX_VIOLATION",
          "document_number": "黄税罚〔2026〕1号", "source_unit": "TAX-420200"}


def test_objection_moves_through_its_steps_and_overdue_ones_are_named():
    filed = O.filing("YY1", TARGET, "t1", "XYB", "罚款已缴清", ms(2026, 11, 20))
    objection = O.apply(None, filed)
    assert objection.open and objection.state == O.OPEN and O.publication_change(filed) == O.SUSPEND
    assert objection.overdue_steps(ms(2026, 11, 25)) == []
    assert [s for s, _ in objection.overdue_steps(ms(2026, 11, 27))] == [O.VERIFY]
    forwarded = O.transition(objection, O.FORWARDED, "t1", "XYB", ms(2026, 11, 23))
    objection = O.apply(objection, forwarded)
    assert objection.state == O.WITH_PROVIDER and objection.steps[O.VERIFY]["done_at"] == ms(2026, 11, 23)
    assert objection.steps[O.PROVIDER_ANSWER]["due_at"] == O.due_at(ms(2026, 11, 23), 10)
    with pytest.raises(O.ObjectionConflict):
        O.transition(objection, O.VERIFIED, "t1", "XYB", ms(2026, 11, 24))
    with pytest.raises(O.ObjectionConflict):
        O.transition(objection, O.RESOLVED, "t1", "XYB", ms(2026, 11, 24))  # no outcome
    answered = O.transition(objection, O.ANSWERED, "t2", "TAX-420200", ms(2026, 11, 24), reason="记录有误")
    objection = O.apply(objection, answered)
    assert objection.state == O.VERIFIED and O.CORRECT_NOTIFY in objection.steps
    resolved = O.transition(objection, O.RESOLVED, "t1", "XYB", ms(2026, 11, 25), outcome="DELETED", reason="无法核实")
    assert O.publication_change(resolved) == O.DELETE
    objection = O.apply(objection, resolved)
    assert not objection.open and objection.outcome == "DELETED" and objection.reason == "无法核实"
    assert objection.overdue_steps(ms(2027, 1, 1)) == []
    assert O.apply(objection, resolved) is objection  # a transition read back twice changes nothing


# ------------------------------------------------------------------------- control records accepted
def test_status_records_are_accepted_by_the_stream_and_change_the_basis_status():
    keys = ephemeral_pseudonymiser()
    now = datetime(2026, 11, 23, 3, tzinfo=timezone.utc)
    subject = entry(basis("e1"))
    for status, expected in (("异议", "SUSPENDED"), ("正常", "ACTIVE"), ("删除", "EXITED")):
        event = basis_status_event(subject, subject["basis"][0], status, reference="YY1.1", reason="理由",
                                   unit="XYB-420200", actor="t1", now=now)
        outcome = assess(event, now, pseudonyms=keys)
        assert outcome.record is not None, outcome.rejection
        change = outcome.list_change
        assert change.effect == "list" and change.subject_key == USCC
        assert change.basis["document_number"] == "黄税罚[2026]1号" and change.basis["status"] == expected


def test_a_person_status_record_is_pseudonymised_like_the_original():
    keys = ephemeral_pseudonymiser()
    now = datetime(2026, 11, 23, 3, tzinfo=timezone.utc)
    person = entry(basis("e1", "COURT_DISHONEST"), key=keys.pseudonym(PERSON), kind="ID_NUMBER", stype="NATURAL_PERSON",
                   subject_sealed=keys.seal(PERSON))
    event = basis_status_event(person, person["basis"][0], "异议", reference="YY2.1", reason="r", unit="XYB-420200",
                               actor="t1", now=now, clear_number=keys.open(person["subject_sealed"]))
    outcome = assess(event, now, pseudonyms=keys)
    assert outcome.record is not None, outcome.rejection
    assert outcome.list_change.subject_key == person["subject_key"]


def test_repair_and_exit_records_have_the_catalog_effects():
    now = datetime(2026, 11, 23, 3, tzinfo=timezone.utc)
    subject = entry(basis("e1"))
    repair = assess(repair_event(subject, "XYB-XF", decision_number="黄信修〔2026〕9号", repaired_document="黄税罚〔2026〕1号",
                                 reason="已履行", unit="XYB-420200", actor="t1", now=now), now)
    assert repair.list_change.effect == "repair" and repair.list_change.target_documents == ("黄税罚[2026]1号",)
    exit_ = assess(exit_event(subject, "SAMR-ZXDX", kind="吊销", decision_number="黄市监吊〔2026〕3号", reason="吊销",
                              unit="SAMR-420200", actor="t1", now=now), now)
    assert exit_.list_change.effect == "deregistration" and exit_.list_change.reason == "吊销"
