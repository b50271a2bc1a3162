"""Name fallback, pure: exact, normalised and masked spellings of listed names are found, ranked
exact first, each with its reason; the index agrees with a linear scan and follows changes."""
from __future__ import annotations

import pytest

from checks.names import EXACT, MASKED, NORMALISED, InvalidName, NameIndex, linear_search, match_key

LISTED = [
    ("91330604MA2BC1XX01", "上虞市巨龙设备有限公司"),
    ("91330604MA2BC1XX02", "上虞市巨力机电设备有限公司"),
    ("91330604MA2BC1XX03", "上虞市巨龙设备有限责任公司"),
    ("91110000MA00000X04", "中国（北京）国际贸易有限公司"),
    ("91420200MA00000X05", "黄石 华新 水泥有限公司"),
    ("91420200MA00000X06", "ＡＢＣ科技有限公司"),
    ("91420200MA00000X07", "上虞市大通设备有限公司"),
]


@pytest.fixture
def index():
    return NameIndex.build(LISTED)


def test_exact_name_ranks_first_and_variant_next(index):
    found, total = index.search("上虞市巨龙设备有限公司")
    assert [(c.key[-2:], c.match) for c in found] == [("01", EXACT), ("03", NORMALISED)]
    assert total == 2
    assert "有限责任公司/有限公司" in found[1].reason


@pytest.mark.parametrize("typed, key, said", [
    ("中国(北京)国际贸易有限公司", "04", "括号 brackets"),
    ("黄石华新水泥有限公司", "05", "空格 spaces"),
    ("ABC科技有限公司", "06", "全角/半角 full/half width"),
    ("abc科技有限责任公司", "06", "有限责任公司/有限公司"),
])
def test_normalised_spellings_are_found_with_the_reason(index, typed, key, said):
    found, _ = index.search(typed)
    assert [c.key[-2:] for c in found] == [key]
    assert found[0].match == NORMALISED and said in found[0].reason


def test_masked_name_finds_every_fit_closest_count_first(index):
    found, total = index.search("上虞市巨**设备有限公司")
    assert {c.key[-2:] for c in found} == {"01", "02", "03"} and total == 3
    assert all(c.match == MASKED for c in found)
    assert "stand for" in found[0].reason
    assert index.search("上虞市＊设备有限公司")[1] == 4       # full-width star, tail anchors: 巨龙 x2, 巨力机电, 大通
    assert index.search("*巨力*")[1] == 1                      # neither head nor tail: every name is tried


def test_ranking_prefers_the_count_the_stars_show(index):
    found, _ = index.search("上虞市巨**设备有限公司".replace("**", "***"))
    assert found[0].key.endswith("02")  # 力机电: three characters for three stars


def test_no_candidate_is_an_empty_list_not_an_error(index):
    assert index.search("武汉市某某有限公司") == ([], 0)


@pytest.mark.parametrize("bad", ["", "   ", "***", "名" * 201])
def test_unusable_names_are_refused(index, bad):
    with pytest.raises(InvalidName):
        index.search(bad)


def test_index_follows_changes(index):
    index.put("91330604MA2BC1XX01", None)  # left the lists
    assert [c.key[-2:] for c in index.search("上虞市巨龙设备有限公司")[0]] == ["03"]
    index.put("91330604MA2BC1XX03", "上虞市巨龙新材料有限公司")  # renamed
    assert index.search("上虞市巨龙设备有限公司") == ([], 0)
    assert index.search("上虞市巨*新材料有限公司")[1] == 1
    index.put("91420200MA00000X99", "上虞市巨龙设备有限公司")
    assert index.search("上虞市巨龙设备有限公司")[0][0].match == EXACT


@pytest.mark.parametrize("typed", ["上虞市巨龙设备有限公司", "上虞市巨**设备有限公司", "*设备有限公司", "ABC科技有限公司",
                                   "中国(北京)国际贸易有限公司"])
def test_index_finds_what_a_linear_scan_finds(index, typed):
    assert {c.key for c in index.search(typed, 100)[0]} == {c.key for c in linear_search(LISTED, typed, 100)[0]}


def test_match_key_keeps_stars_and_reads_variants_alike():
    assert match_key("上虞市巨＊＊设备 有限责任公司") == "上虞市巨**设备有限公司"
    assert match_key("中国（北京）") == match_key("中国(北京)") == "中国北京"
