"""Bilingual labels for what the dashboards show: reason codes (creditstream.domain.reasons),
categories, unit names (the unit catalog)."""
from __future__ import annotations

from creditstream.domain import reasons as R
from creditstream.domain.categories import LABELS_ZH

REASONS = {
    R.UNDECODABLE: "无法解码 undecodable",
    R.INTERNAL_ERROR: "内部错误 internal error",
    R.MISSING_FIELD: "缺少必填项 missing field",
    R.INVALID_USCC: "统一社会信用代码错误 invalid USCC",
    R.INVALID_ID_NUMBER: "身份证号错误 invalid ID number",
    R.MISSING_SUBJECT_ID: "缺少主体标识 missing subject id",
    R.INVALID_ORG_CODE: "组织机构代码错误 invalid organisation code",
    R.INVALID_TAX_NUMBER: "税务登记号错误 invalid tax number",
    R.INVALID_DATE: "日期无效 invalid date",
    R.DATE_IN_FUTURE: "日期晚于今天 date in the future",
    R.VALIDITY_BEFORE_DECISION: "有效期早于决定日期 validity before decision",
    R.INVALID_SEX: "性别无效 invalid sex",
}


def categories() -> dict[str, str]:
    return {code: f"{zh} {code.lower().replace('_', ' ')}" for code, zh in LABELS_ZH.items()}


def unit_names(catalog_path: str | None = None) -> dict[str, str]:
    """Unit code -> name from the unit catalog; a unit missing there is shown by its code."""
    from creditstream.domain.catalog import load_catalog

    try:
        catalog = load_catalog(catalog_path or None)
    except (OSError, ValueError):
        return {}
    return {code: unit.name for code, unit in catalog.units.items()}
