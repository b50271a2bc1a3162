"""assess(): key fields per subject type and category, several reasons at once, date sanity,
enrichment (unit, region, subject type, timeliness, late), flags and scrubbed rejections."""
from __future__ import annotations

import copy
import random
from datetime import date, datetime, timezone

import pytest
from hypothesis import given, settings, strategies as st

from creditstream.domain.assessment import assess
from creditstream.domain.catalog import catalog_from_dict, load_catalog
from creditstream.domain.normalise import epoch_days
from tests.unit.test_domain_identifiers import make_id_number, make_uscc

NOW = datetime(2024, 10, 10, 4, 0, tzinfo=timezone.utc)  # 2024-10-10 12:00 in China
REPORTED = int(datetime(2024, 10, 9, 2, 0, tzinfo=timezone.utc).timestamp() * 1000)  # 10-09 in China


def make_event(category="PENALTY", person=False, **changes) -> dict:
    rng = random.Random(1)
    subject = {"type": "NATURAL_PERSON" if person else "LEGAL_PERSON",
               "uscc": None if person else make_uscc(rng, "420202"),
               "id_number": make_id_number(rng, "420202") if person else None,
               "plate": None, "name": "王伟" if person else "黄石恒达有限公司", "sex": "男" if person else None,
               "legal_representative": None}
    event = {
        "event_id": "e-1", "source_unit": "SAMR-420200", "catalog": "SAMR-CF", "category": category,
        "reporting_mode": "BATCH", "source_format": "csv", "reported_at": REPORTED, "subject": subject,
        "decision": {"document_number": "（2024）鄂02市监罚1号", "authority": "黄石市市场监督管理局",
                     "date": "2024年9月30日", "valid_until": "2099-12-31"},
        "matter": {"name": "行政处罚", "cause": "未按规定公示年度报告", "content": "罚款"},
        "raw": {},
    }
    for path, value in changes.items():
        part, _, name = path.partition("__")
        if name:
            event[part][name] = value
        else:
            event[part] = value
    return event


def codes(outcome):
    return sorted(r["code"] for r in outcome.rejection["reasons"]) if outcome.rejection else []


def test_a_complete_enterprise_record_is_accepted_and_normalised():
    out = assess(make_event(decision__document_number="（2024） 鄂02市监罚1号", subject__name=" 黄石恒达(大冶)有限公司 "), NOW)
    record = out.record
    assert record is not None, out.rejection
    assert record["document_number"] == "(2024)鄂02市监罚1号"
    assert record["subject_name"] == "黄石恒达（大冶）有限公司"
    assert record["decision_date"] == epoch_days(date(2024, 9, 30))
    assert record["valid_until"] is None and "NO_EXPIRY" in record["flags"]
    assert record["region_code"] == "420202"
    assert record["subject_key_kind"] == "USCC"


@pytest.mark.parametrize("field,code", [("subject__name", "missing_field"), ("matter__name", "missing_field"),
                                        ("matter__cause", "missing_field"),
                                        ("decision__document_number", "missing_field"),
                                        ("decision__authority", "missing_field"), ("decision__date", "missing_field"),
                                        ("subject__uscc", "missing_subject_id")])
@pytest.mark.parametrize("placeholder", [None, "", "暂无", "  "])
def test_enterprise_key_fields(field, code, placeholder):
    out = assess(make_event(**{field: placeholder}), NOW)
    assert codes(out) == [code]
    assert out.rejection["reasons"][0]["field"] == field.replace("__", ".").replace("uscc", "uscc")


@pytest.mark.parametrize("field", ["subject__name", "subject__id_number", "matter__name", "matter__cause"])
def test_person_key_fields(field):
    out = assess(make_event(category="COURT_DISHONEST", person=True, catalog="COURT-SXBZXR", **{field: None}), NOW)
    assert len(codes(out)) == 1


def test_a_persons_missing_sex_is_read_from_the_id_number():
    out = assess(make_event(category="ARREARS", person=True, catalog="WATER-QF", subject__sex=None), NOW)
    assert out.record["sex"] in ("M", "F") and "SEX_FROM_ID" in out.record["flags"]


def test_a_masked_persons_missing_sex_is_a_missing_key_field():
    out = assess(make_event(category="ARREARS", person=True, catalog="WATER-QF", subject__sex=None,
                            subject__id_number="4202021964****3224"), NOW)
    assert codes(out) == ["missing_field"] and out.rejection["reasons"][0]["field"] == "subject.sex"


def test_unknown_sex_is_its_own_reason():
    out = assess(make_event(category="ARREARS", person=True, catalog="WATER-QF", subject__sex="X"), NOW)
    assert codes(out) == ["invalid_sex"]


def test_arrears_need_no_decision_fields():
    out = assess(make_event(category="ARREARS", catalog="WATER-QF", decision={}), NOW)
    assert out.record is not None, out.rejection


def test_an_indicator_set_can_override_the_required_fields():
    catalog = catalog_from_dict({"indicator_sets": [{"code": "X", "category": "PENALTY", "required": ["matter.name"]}]})
    out = assess(make_event(catalog="X", decision={"document_number": None}, matter__cause=None), NOW, catalog)
    assert out.record is not None, out.rejection


def test_several_reasons_at_once():
    valid = make_uscc(random.Random(7))
    out = assess(make_event(subject__uscc=valid[:-1] + ("1" if valid[-1] == "0" else "0"), matter__cause="", decision__date="2099-01-01",
                            decision__authority=None), NOW)
    assert codes(out) == ["date_in_future", "invalid_uscc", "missing_field", "missing_field"]


def test_validity_before_decision_and_unreadable_dates():
    assert codes(assess(make_event(decision__valid_until="2024-01-01"), NOW)) == ["validity_before_decision"]
    assert codes(assess(make_event(decision__date="去年"), NOW)) == ["invalid_date"]
    assert codes(assess(make_event(decision__valid_until="明年"), NOW)) == ["invalid_date"]


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2024, 10, 10)),
       st.sampled_from(["%Y年%m月%d日", "%Y%m%d", "%Y-%m-%d 00:00:00", "%Y-%m-%d", "%Y/%m/%d"]))
@settings(max_examples=60)
def test_any_past_date_in_any_wild_format_is_accepted(day, fmt):
    out = assess(make_event(decision__date=day.strftime(fmt)), NOW)
    assert out.record is not None and out.record["decision_date"] == epoch_days(day)


def test_unix_seconds_decision_dates():
    out = assess(make_event(decision__date=str(int(datetime(2024, 9, 30, 2, tzinfo=timezone.utc).timestamp()))), NOW)
    assert out.record["decision_date"] == epoch_days(date(2024, 9, 30))


def test_timeliness_counts_working_days_across_the_national_day_holiday():
    # Decided Mon 2024-09-30, reported Wed 2024-10-09: 1-7 October are holidays, 10-08 a workday.
    out = assess(make_event(), NOW)
    assert out.record["timeliness_days"] == 2
    assert out.record["late"] is False  # Huangshi units: 2 working days


def test_late_past_the_units_deadline():
    # Wed 2024-09-25 to Wed 2024-10-09: 26, 27, Sun 29 (a make-up workday), 30, 8 and 9 October.
    out = assess(make_event(decision__date="2024-09-25"), NOW)
    assert out.record["timeliness_days"] == 6 and out.record["late"] is True


def test_unknown_units_get_the_default_deadline_and_a_flag():
    out = assess(make_event(source_unit="NOBODY", decision__date="2024-09-25"), NOW)
    assert "UNKNOWN_UNIT" in out.record["flags"] and out.record["late"] is False  # 6 <= 7 working days


def test_subject_type_from_the_uscc():
    code = make_uscc(random.Random(2), "420202")
    individual = "92" + code[2:17]
    from stdnum.cn import uscc
    individual += uscc.calc_check_digit(individual)
    out = assess(make_event(subject__uscc=individual, subject__type="UNKNOWN"), NOW)
    assert out.record["subject_type"] == "INDIVIDUAL_BUSINESS" and "SUBJECT_TYPE_FROM_USCC" in out.record["flags"]


def test_region_falls_back_to_the_unit_when_the_id_carries_none():
    out = assess(make_event(subject__uscc="D2143569X"), NOW)
    assert out.record["region_code"] == "420200" and "PRE_USCC_CODE" in out.record["flags"]


def test_prohibited_attributes_are_removed_and_named():
    event = make_event(raw={"宗教信仰": "某教", "月收入": "月入八千", "户号": "001"})
    event["subject"]["other_ids"] = {"org_code": "D2143569X", "血型": "AB型"}
    out = assess(event, NOW)
    assert out.record["raw"] == {"户号": "001"}
    assert out.record["prohibited_dropped"] == ["subject.other_ids.血型", "宗教信仰", "月收入"]
    for value in ("某教", "月入八千", "AB型"):
        assert value not in repr(out.record)


def test_rejections_are_scrubbed_and_masked():
    event = make_event(category="COURT_DISHONEST", person=True, catalog="COURT-SXBZXR", matter__cause=None,
                       raw={"婚姻状况": "已婚", "备注": "见附件"})
    number = event["subject"]["id_number"]
    out = assess(event, NOW)
    rejection = out.rejection
    assert out.prohibited_dropped == ["婚姻状况"]
    assert number not in repr(rejection)
    assert rejection["subject_masked"] == number[:10] + "****" + number[14:]
    assert rejection["original"]["subject.id_number"] == rejection["subject_masked"]
    assert "已婚" not in repr(rejection) and "婚姻状况" not in repr(rejection["original"])
    assert rejection["original"]["raw.备注"] == "见附件"


def test_blacklist_categories_carry_a_list_change():
    out = assess(make_event(category="TAX_VIOLATION", catalog="TAX-ZDSS"), NOW)
    assert out.list_change.effect == "list" and out.list_change.basis["status"] == "ACTIVE"
    assert assess(make_event(), NOW).list_change is None


def test_the_catalog_marks_repairs_and_red_lists():
    repair = assess(make_event(category="OTHER", catalog="XYB-XF", matter__legal_basis="（2024）鄂02罚7号"), NOW)
    assert repair.list_change.effect == "repair" and repair.list_change.target_documents == ("(2024)鄂02罚7号",)
    red = assess(make_event(category="RED_LIST", catalog="TAX-ANSR"), NOW)
    assert red.list_change.effect == "red_list"


def test_natural_key_ignores_unit_and_event_id_but_not_the_decision():
    first = assess(make_event(), NOW)
    other_unit = assess(make_event(source_unit="SGS-420200", catalog="SGS-CF", event_id="e-2",
                                   decision__document_number="(2024)鄂02市监罚1号"), NOW)
    other_case = assess(make_event(decision__document_number="（2024）鄂02市监罚2号"), NOW)
    assert first.natural_key == other_unit.natural_key != other_case.natural_key


def test_assess_does_not_change_its_input():
    event = make_event(raw={"宗教信仰": "x"})
    before = copy.deepcopy(event)
    assess(event, NOW)
    assert event == before


def test_the_bundled_catalog_loads():
    catalog = load_catalog()
    assert catalog.unit("TAX-420200").deadline.working_days == 2
    assert catalog.list_effect("TAX-ZDSS", "TAX_VIOLATION") == "list"
    assert catalog.list_effect("SAMR-ZXDX", "OTHER") == "deregistration"
