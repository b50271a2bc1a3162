"""Publication rules as functions: objected records withheld with a note, revoked, expired and
repaired ones withheld, persons' ID numbers masked, only public fields shown."""
from __future__ import annotations

from datetime import date

import pytest

from creditstream.publication.rules import (OBJECTION, REPAIRED, SHOWN, PublicationConfigError, Standing, add_months,
                                            judge, load_rules)
from creditstream.publication.search import SearchInputError, judge_all, parse_query

RULES = load_rules()
TODAY = date(2026, 10, 20)


def record(n, category="PENALTY", decided=date(2026, 6, 1), status=None, **extra):
    return {"event_id": f"e{n}", "category": category, "subject_type": "LEGAL_PERSON", "subject_key": "91420200MA4KXXXX0X",
            "subject_key_kind": "USCC", "subject_name": "黄石某某有限公司", "subject_masked": None,
            "document_number": f"黄罚[2026]{n}号", "decision_date": decided, "decision_status": status,
            "matter_name": "违法行为", "matter_kind": "罚款", "cause": "事由", "legal_basis": "依据", "content": "罚款",
            "authority": "黄石市某局", "raw": {"内部备注": "x"}, "subject_sealed": "k1:secret", **extra}


def test_penalties_are_published_for_three_years_at_most():
    assert judge(record(1, decided=date(2023, 10, 21)), Standing(), TODAY, RULES).outcome == SHOWN
    expired = judge(record(1, decided=date(2023, 10, 20)), Standing(), TODAY, RULES)
    assert expired.outcome == "expired" and expired.ends_on == date(2026, 10, 20)
    assert judge(record(2, "LICENCE", decided=date(2001, 1, 1)), Standing(), TODAY, RULES).shown, "licences stay"


def test_an_objection_withholds_with_a_note():
    for standing in (Standing(latest_status="异议"), Standing(objection_open=True), Standing(list_status="SUSPENDED")):
        verdict = judge(record(1), standing, TODAY, RULES)
        assert verdict.outcome == OBJECTION and "异议" in verdict.note
    assert judge(record(1), Standing(latest_status="撤销"), TODAY, RULES).outcome == "revoked"


def test_repair_ends_publication_but_not_before_the_minimum_period():
    decided = date(2026, 9, 1)
    early = judge(record(1, decided=decided), Standing(repaired_on=date(2026, 9, 15)), TODAY, RULES)
    assert early.shown and early.ends_on == add_months(decided, 3), "three months at least"
    later = judge(record(1, decided=decided), Standing(repaired_on=date(2026, 9, 15)), date(2026, 12, 1), RULES)
    assert later.outcome == REPAIRED
    safety = record(2, decided=decided, matter_name="违反安全生产规定")
    assert judge(safety, Standing(repaired_on=date(2026, 9, 15)), date(2026, 12, 1), RULES).shown, "a year for 安全生产"
    assert judge(record(3, decided=date(2026, 1, 1)), Standing(list_status="REPAIRED"), TODAY, RULES).outcome == REPAIRED


def test_the_public_sees_public_fields_and_a_persons_number_masked():
    person = record(4, subject_type="NATURAL_PERSON", subject_key="pid:h1:0123456789abcdef0123456789abcdef",
                    subject_key_kind="ID_NUMBER", subject_name="张三", subject_masked="4202021988****5074")
    out = judge_all([record(1), person], set(), {}, {}, TODAY, RULES)
    assert out["withheld"] == {} and len(out["records"]) == 2
    shown = {r["record_id"]: r for r in out["records"]}
    assert shown["e4"]["subject_id"] == "4202021988****5074" and shown["e1"]["subject_id"] == "91420200MA4KXXXX0X"
    text = repr(out)
    assert "pid:" not in text and "k1:secret" not in text and "内部备注" not in text


def test_a_later_report_of_the_same_decision_changes_its_status_and_repairs_name_the_decision():
    objected = [record(1), {**record(1, status="异议"), "event_id": "status-1"}]
    restored = objected + [{**record(1, status="正常"), "event_id": "status-2"}]
    out = judge_all(objected + [record(2), record(3, decided=date(2020, 1, 1))], set(), {},
                    {"91420200MA4KXXXX0X": [("黄罚［2026］2号", date(2026, 9, 1))]}, TODAY, RULES)
    assert [r["record_id"] for r in out["records"]] == ["e1"] and out["records"][0]["withheld"] == OBJECTION
    assert out["withheld"] == {"objection": 1, "repaired": 1, "expired": 1}
    assert judge_all(restored, set(), {}, {}, TODAY, RULES)["records"][0].get("withheld") is None
    assert judge_all([record(1)], {"e1"}, {}, {}, TODAY, RULES)["records"][0]["withheld"] == OBJECTION


def test_search_input():
    assert parse_query(" 91420200MA4KXXXX0X ").kind == "uscc"
    assert parse_query("黄石某某").kind == "name"
    for bad in ("", "黄", "x" * 61, "420202198801015074", "4202021988****5074"):
        with pytest.raises(SearchInputError):
            parse_query(bad)


def test_wrong_rules_file_is_named(tmp_path):
    path = tmp_path / "p.toml"
    path.write_text('categories = ["PENALTY"]\n[periods.PENALTY]\nmin_months = 12\nmax_months = 3\n')
    with pytest.raises(PublicationConfigError, match="p.toml: periods.PENALTY"):
        load_rules(path)
