"""The privacy guard: prohibited attributes never pass, debts stay, ID numbers are masked."""
from __future__ import annotations

import random

import pytest
from hypothesis import given, strategies as st

from creditstream.domain.privacy import PROHIBITED_ATTRIBUTES, mask_ids_in_text, prohibited_attribute, scrub
from tests.unit.test_domain_identifiers import make_id_number

# Field names as units' exports spell them, one or more per prohibited attribute (Chinese and English).
PROHIBITED_FIELDS = {
    "religion": ["宗教信仰", "信仰", "Religion", "religious_belief"],
    "genes": ["基因信息", "DNA", "genetic_data", "gene_test"],
    "fingerprints": ["指纹", "fingerprint_image", "FingerPrint"],
    "blood_type": ["血型", "blood_type", "BloodGroup"],
    "medical_history": ["疾病史", "病史", "既往病历", "健康状况", "medical_history", "disease", "diagnosis"],
    "marital_status": ["婚姻状况", "婚否", "配偶姓名", "marital_status", "Marriage", "spouse_name"],
    "income": ["月收入", "年收入", "工资", "薪酬", "income", "annual_salary", "wage"],
    "deposits": ["存款余额", "储蓄", "bank_deposit", "savings"],
    "securities": ["有价证券", "证券账户", "持有股票", "债券", "securities"],
    "commercial_insurance": ["商业保险", "商业保险保单号", "commercial_insurance", "insurance_policy"],
    "real_estate": ["不动产", "房产信息", "房地产", "real_estate", "RealEstate"],
    "tax_amount": ["纳税数额", "纳税金额", "年度纳税额", "缴税金额", "tax_amount", "tax_paid"],
}
# Ordinary credit data that merely sounds close.
ALLOWED_FIELDS = ["社会保险费欠缴金额", "欠缴社会保险费", "物业费", "物业管理费欠费", "拖欠农民工工资金额", "欠缴税额",
                  "偷税金额", "罚款金额", "处罚依据", "统一社会信用代码", "姓名", "性别", "social_insurance_arrears",
                  "wage_arrears", "property_management_fee", "fine_amount", "户号", "欠费金额", "住房公积金缴存"]


def test_every_prohibited_attribute_is_covered():
    assert set(PROHIBITED_FIELDS) == set(PROHIBITED_ATTRIBUTES)


@pytest.mark.parametrize("attribute,name", [(a, n) for a, names in PROHIBITED_FIELDS.items() for n in names])
def test_prohibited_field_names_are_recognised(attribute, name):
    assert prohibited_attribute(name) == attribute


@pytest.mark.parametrize("name", ALLOWED_FIELDS)
def test_ordinary_credit_fields_pass(name):
    assert prohibited_attribute(name) is None


@given(st.dictionaries(st.sampled_from([n for names in PROHIBITED_FIELDS.values() for n in names] + ALLOWED_FIELDS),
                       st.text(max_size=20)))
def test_scrub_removes_exactly_the_prohibited_fields_and_reports_their_names_only(fields):
    kept, dropped = scrub(fields)
    assert not any(prohibited_attribute(k) for k in kept)
    assert set(kept) | set(dropped) == set(fields)
    assert dropped == sorted(dropped)
    assert set(dropped).isdisjoint(kept)


def test_values_of_dropped_fields_appear_nowhere():
    kept, dropped = scrub({"宗教信仰": "某教", "血型": "AB", "户号": "001"})
    assert dropped == ["宗教信仰", "血型"]
    assert "某教" not in repr(kept) and "AB" not in repr(kept)


def test_id_numbers_in_kept_values_are_masked():
    number = make_id_number(random.Random(4))
    kept, _ = scrub({"备注": f"户主身份证 {number}，已催缴", "证件号码": number})
    assert number not in repr(kept)
    assert kept["证件号码"] == number[:10] + "****" + number[14:]


def test_uscc_and_amounts_are_not_taken_for_id_numbers():
    text = "91420202MA4ABCDE1X 罚款 12345 元 订单 1234567890123456789012"
    assert mask_ids_in_text(text) == text
