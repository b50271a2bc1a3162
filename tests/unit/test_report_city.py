"""Which utility a record belongs to, and its city."""
from __future__ import annotations

from creditstream.reports.city import OTHER_UTILITY, record_utility_kind, utility_kinds_named
from creditstream.reports.labels import city_label, city_of, data_type_label


def test_indicator_sets_and_matters_name_their_utility():
    assert utility_kinds_named("水费欠缴") == ["water"]
    assert utility_kinds_named("欠缴住房公积金") == ["housing_fund"]
    assert utility_kinds_named("欠缴社会保险费") == ["social_insurance"]
    assert utility_kinds_named("市场监管行政处罚") == []


def test_a_set_of_several_utilities_leaves_it_to_each_record():
    assert record_utility_kind(None, "电费欠缴") == "power"
    assert record_utility_kind(None, "燃气费欠缴") == "gas"
    assert record_utility_kind(None, "欠费") == OTHER_UTILITY
    assert record_utility_kind("water", "电费欠缴") == "water"     # the set's own kind wins


def test_city_of_a_division_code():
    assert city_of("420202") == "420200" and city_of(None) is None and city_of("42") is None
    assert city_label("420200") == "湖北省黄石市" and city_label(None) == "未知地区"
    assert data_type_label("LEGAL_PERSON") == "企业" and data_type_label("NATURAL_PERSON") == "个人"
