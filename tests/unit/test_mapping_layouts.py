"""Every layout recognised from its headers, each field landing where the CreditEvent wants it."""
from __future__ import annotations

from pathlib import Path

import pytest

from avro_schemas.codec import CREDIT_EVENT, codec
from producers.batch_file import FileReport, LoadOptions, read_events
from producers.layouts import LayoutProblem, RowMapper, header_keys, load_layouts, normalise_header, recognise

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "adapters"


def events(name: str, **options) -> tuple[FileReport, list[dict]]:
    report = FileReport(name)
    found = [e for _, e in read_events(FIXTURES / name, LoadOptions(unit=options.pop("unit", "UNIT-1"), **options),
                                       report, reported_at_ms=1_700_000_000_000)]
    return report, found


def test_headers_compare_across_case_snake_case_width_and_required_markers():
    assert normalise_header("caseCode") == normalise_header("casecode") == normalise_header("case_code")
    assert normalise_header("＊案号") == normalise_header(" *案号 ") == "案号"
    assert "统一社会信用代码" in header_keys("行政相对人代码_1（统一社会信用代码）")
    assert "欠费金额" in header_keys("欠费金额(元)")


def test_every_mapping_file_loads_and_names_only_known_fields():
    layouts = load_layouts()
    assert {"sgs_licence_2016", "sgs_licence_2019", "sgs_penalty_2016", "sgs_penalty_2019", "key_fields_zh",
            "court_dishonest_json", "court_dishonest_page_zh", "tax_major_violation", "arrears_utility",
            "arrears_social_insurance", "arrears_housing_fund", "canonical"} <= set(layouts)


@pytest.mark.parametrize("fixture, layout, category, catalog, rows", [
    ("sgs_licence_2016.csv", "sgs_licence_2016", "LICENCE", "SGS-XK", 4),
    ("sgs_licence_2019.json", "sgs_licence_2019", "LICENCE", "SGS-XK", 2),
    ("sgs_penalty_2019.csv", "sgs_penalty_2019", "PENALTY", "SGS-CF", 3),
    ("court_dishonest.json", "court_dishonest_json", "COURT_DISHONEST", "COURT-SXBZXR", 3),
    ("court_dishonest_lower.jsonl", "court_dishonest_json", "COURT_DISHONEST", "COURT-SXBZXR", 2),
    ("court_dishonest_snake.csv", "court_dishonest_json", "COURT_DISHONEST", "COURT-SXBZXR", 2),
    ("court_dishonest_page_zh.csv", "court_dishonest_page_zh", "COURT_DISHONEST", "COURT-SXBZXR", 2),
    ("tax_major_violation.csv", "tax_major_violation", "TAX_VIOLATION", "TAX-ZDSS", 2),
    ("arrears_utility.csv", "arrears_utility", "ARREARS", "UTILITY-QF", 3),
    ("arrears_social_insurance.csv", "arrears_social_insurance", "ARREARS", "SI-QJ", 2),
    ("arrears_housing_fund.csv", "arrears_housing_fund", "ARREARS", "HF-QJ", 2),
])
def test_layout_recognised_from_headers_and_every_row_becomes_an_encodable_event(fixture, layout, category, catalog,
                                                                                    rows):
    report, found = events(fixture)
    assert report.layout == layout
    assert len(found) == rows == report.rows
    encode = codec(CREDIT_EVENT).encode
    for event in found:
        assert event["category"] == category and event["catalog"] == catalog
        assert event["source_unit"] == "UNIT-1" and event["reporting_mode"] == "BATCH"
        assert event["subject"]["name"]
        assert event["source_ref"].startswith(fixture + ":")
        encode(event)  # every event fits the CreditEvent schema
    assert len({e["event_id"] for e in found}) == rows, "two rows of one file share an event id"


def test_national_codes_2016_fall_back_to_pre_uscc_identifiers_and_keep_them_by_kind():
    _, (enterprise, tax_numbered, person, bad_checksum) = events("sgs_licence_2016.csv")
    assert enterprise["subject"]["uscc"] == "91420200EKB845UM02"
    assert enterprise["decision"] == {**enterprise["decision"], "document_number": "鄂黄市监许字〔2024〕0101号",
                                      "date": "2024年3月1日", "valid_until": "2099-12-31",
                                      "authority": "黄石市市场监督管理局", "status": "0"}
    assert enterprise["matter"]["name"] == "食品经营许可" and enterprise["matter"]["kind"] == "普通"
    assert enterprise["raw"] == {"DFBM": "420200", "SJC": "2024-03-02 10:00:00"}
    assert tax_numbered["subject"]["uscc"] == "420281757012345"  # 15-digit tax number, as reported
    assert tax_numbered["subject"]["other_ids"] == {"tax_registration": "420281757012345"}
    assert person["subject"]["type"] == "NATURAL_PERSON" and person["subject"]["id_number"] == "420202198811241149"
    assert person["decision"]["valid_until"] == "暂无"  # placeholders travel; the stream reads them as missing
    assert bad_checksum["subject"]["uscc"] == "91420200AGEWK2AHX9"  # not dropped: validation rejects it


def test_revised_codes_read_the_subject_type_column_and_its_local_codes():
    _, (org, person, business) = events("sgs_penalty_2019.csv")
    assert org["subject"]["type"] == "LEGAL_PERSON"
    assert person["subject"]["type"] == "NATURAL_PERSON" and person["subject"]["id_number"] == "420202199911173037"
    assert person["subject"]["id_type"] == "身份证"
    assert business["subject"]["type"] == "INDIVIDUAL_BUSINESS"
    assert org["matter"]["legal_basis"].startswith("《中华人民共和国环境影响评价法》")
    assert org["decision"]["authority_code"] == "11420200MB1234567X"
    assert org["raw"]["CF_FR_ZJHM"] == "420202198304228425"  # legal representative's id: audit only
    assert "CF_SY" not in org["raw"]  # mapped columns are not repeated in raw


def test_court_records_place_masked_id_numbers_and_organisation_codes_by_shape():
    _, (person, company, old_code) = events("court_dishonest.json")
    assert person["subject"]["type"] == "NATURAL_PERSON"
    assert person["subject"]["id_number"] == "3423011985****6198" and person["subject"]["sex"] == "男"
    assert person["decision"]["document_number"] == "（2023）鄂0202执1234号"
    assert person["decision"]["date"] == "2023年05月20日"  # publishDate: when the listing was published
    assert person["raw"]["regDate"] == "2023年02月14日"
    assert person["matter"] == {**person["matter"], "name": "失信被执行人",
                                "cause": "有履行能力而拒不履行生效法律文书确定义务", "content": "全部未履行"}
    assert company["subject"]["uscc"] == "91420200YPD5571341" and company["subject"]["legal_representative"] == "周强"
    assert company["raw"]["performance.unperformPart"] == "27万元"  # nested objects flattened, kept
    assert old_code["subject"]["uscc"] == "12345678-9" and old_code["subject"]["type"] == "LEGAL_PERSON"


def test_court_key_variants_and_the_chinese_page_form_give_the_same_fields():
    _, lower = events("court_dishonest_lower.jsonl")
    _, snake = events("court_dishonest_snake.csv")
    _, page = events("court_dishonest_page_zh.csv")
    assert lower[0]["subject"]["id_number"] == "4202021988****1149" and lower[0]["raw"]["age"] == "36"
    assert snake[0]["decision"]["authority"] == "大冶市人民法院" and snake[0]["matter"]["cause"] == "违反限制消费令"
    assert page[0]["subject"]["id_number"] == "2108021987****4949"
    assert page[0]["decision"] == {**page[0]["decision"], "document_number": "（2023）辽0803执1500号",
                                   "authority": "营口市西市区人民法院", "date": "2024年01月05日"}
    assert page[1]["subject"]["uscc"] == "91210800DPXU3YK030"


def test_tax_list_keeps_responsible_persons_in_raw_and_keys_records_by_period():
    _, (first, fifteen_digit) = events("tax_major_violation.csv")
    assert first["subject"]["uscc"] == "91420200YPD5571341"
    assert first["subject"]["other_ids"] == {"org_code": "YPD557134"}
    assert first["matter"]["name"] == "虚开增值税专用发票"
    assert first["decision"]["authority"] == "国家税务总局黄石市税务局稽查局"
    assert first["raw"]["法定代表人或者负责人证件号码"] == "420202********1234"
    assert fifteen_digit["subject"]["uscc"] == "420281757012345" and fifteen_digit["matter"]["name"] == "走逃（失联）"


def test_arrears_rows_without_the_owners_id_travel_on_and_are_counted():
    report, (company, person, untied) = events("arrears_utility.csv")
    assert company["subject"]["uscc"] == "91420200EKB845UM02" and company["matter"]["content"] == "12850.36"
    assert person["subject"]["type"] == "NATURAL_PERSON"
    assert untied["subject"]["uscc"] is None and untied["subject"]["id_number"] is None
    assert report.problems["no_subject_id"] == 1
    assert untied["raw"]["户号"] == "0101234569"


def test_arrears_without_document_numbers_get_ids_from_their_natural_key():
    _, (pension, unemployment) = events("arrears_social_insurance.csv")
    assert pension["subject"]["uscc"] == unemployment["subject"]["uscc"]
    assert pension["event_id"] != unemployment["event_id"]  # one subject, two insurance kinds
    assert pension["matter"]["cause"] == "企业职工基本养老保险"


def test_the_gbk_key_field_sheet_is_read_with_its_category_column():
    report, (licence, person_penalty, penalty) = events("key_fields_zh_gbk.csv")
    assert report.encoding == "gb18030" and report.layout == "key_fields_zh"
    assert licence["category"] == "LICENCE" and penalty["category"] == "PENALTY"
    assert licence["subject"]["name"] == "黄石恒达商贸有限公司"
    assert person_penalty["subject"] == {**person_penalty["subject"], "type": "NATURAL_PERSON", "name": "王伟",
                                         "sex": "男性", "id_number": "420202199911173037"}


def test_same_file_read_twice_gives_the_same_event_ids_even_at_another_time_or_upload():
    first = [e["event_id"] for e in events("tax_major_violation.csv")[1]]
    report = FileReport("again")
    again = [e["event_id"] for _, e in read_events(FIXTURES / "tax_major_violation.csv", LoadOptions(unit="UNIT-1"),
                                                    report, reported_at_ms=1_800_000_000_000)]
    assert first == again
    other_unit = [e["event_id"] for e in events("tax_major_violation.csv", unit="UNIT-2")[1]]
    assert set(first).isdisjoint(other_unit)


def test_catalog_option_picks_the_layout_that_claims_it_and_names_the_indicator_set():
    report, found = events("court_dishonest_snake.csv", catalog="COURT-SXBZXR")
    assert report.layout == "court_dishonest_json"
    report, found = events("sgs_licence_2016.csv", catalog="SAMR-XK")
    assert report.layout == "sgs_licence_2016" and {e["catalog"] for e in found} == {"SAMR-XK"}


def test_key_fields_without_a_category_column_need_the_category_from_the_caller():
    layout = load_layouts()["key_fields_zh"]
    header = ["事项名称", "企业法定名称", "统一社会信用代码", "事由"]
    with pytest.raises(LayoutProblem, match="信息类别"):
        RowMapper(layout, header, unit="U")
    mapper = RowMapper(layout, header, unit="U", category="PENALTY")
    event = mapper.event(["行政处罚", "某公司", "91420200EKB845UM02", "无证经营"], "2", 0)
    assert event["category"] == "PENALTY" and event["catalog"] == "KEY-FIELDS"


def test_missing_required_column_is_named():
    layout = load_layouts()["sgs_licence_2016"]
    with pytest.raises(LayoutProblem, match="决定文书号.*XK_WSH") as caught:
        RowMapper(layout, ["XK_XMMC", "XK_XDR", "XK_XDR_SHXYM", "XK_JDRQ"], unit="U")
    assert caught.value.column == "XK_WSH"


def test_unknown_or_ambiguous_headers_are_refused_not_guessed():
    with pytest.raises(LayoutProblem, match="not recognised"):
        recognise(["a", "b", "c"])
    with pytest.raises(LayoutProblem, match="several layouts"):
        recognise(["单位名称", "统一社会信用代码", "欠缴金额"])  # social insurance or housing fund?


def test_placeholder_in_the_first_candidate_column_gives_way_to_a_real_value():
    layout = load_layouts()["sgs_licence_2016"]
    mapper = RowMapper(layout, ["XK_WSH", "XK_XDR", "XK_XDR_SHXYM", "XK_XDR_ZDM"], unit="U")
    event = mapper.event(["文号1", "某公司", "暂无", "12345678-9"], "2", 0)
    assert event["subject"]["uscc"] == "12345678-9"
    assert event["raw"] == {"XK_XDR_SHXYM": "暂无"}


def test_the_unit_catalog_names_the_category_of_an_indicator_set_the_layout_leaves_open(tmp_path):
    path = tmp_path / "penalties.csv"
    path.write_text("事项名称,企业法定名称,统一社会信用代码,事由,决定文书号,决定机关,决定时间\n"
                    "行政处罚,黄石恒达商贸有限公司,91420200EKB845UM02,无证经营,黄市监罚〔2024〕9号,黄石市市场监督管理局,2024-06-04\n",
                    encoding="utf-8")
    report = FileReport(str(path))
    (_, event), = read_events(path, LoadOptions(unit="SAMR-420200", catalog="SAMR-CF"), report)
    assert report.layout == "key_fields_zh" and event["category"] == "PENALTY" and event["catalog"] == "SAMR-CF"
