"""Chinese labels the seeds' tables use (seed 000: 数据类型 企业/个体工商户/个人/车辆)."""
from __future__ import annotations

from creditstream.domain.categories import LABELS_ZH as CATEGORY_LABELS
from creditstream.domain.divisions import division_name

DATA_TYPE_LABELS = {"LEGAL_PERSON": "企业", "INDIVIDUAL_BUSINESS": "个体工商户", "NATURAL_PERSON": "个人",
                    "VEHICLE": "车辆", "UNKNOWN": "未说明"}

LIST_LABELS = {**CATEGORY_LABELS, "RED_LIST": "红名单"}


def data_type_label(symbol: str | None) -> str:
    return DATA_TYPE_LABELS.get(symbol or "UNKNOWN", symbol or "")


def list_label(category: str) -> str:
    return LIST_LABELS.get(category, category)


def city_of(region_code: str | None) -> str | None:
    """The prefecture-level city (地级市) of a GB/T 2260 code: 420202 -> 420200."""
    if not region_code or len(region_code) != 6 or not region_code.isdigit():
        return None
    return region_code[:4] + "00"


def city_label(city_code: str | None) -> str:
    if not city_code:
        return "未知地区"
    return division_name(city_code) or city_code
