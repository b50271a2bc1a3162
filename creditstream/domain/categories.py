"""What each category means for routing."""
from __future__ import annotations

# Severe dishonesty: the subject goes on the joint-punishment blacklist.
BLACKLIST_CATEGORIES = frozenset({"COURT_DISHONEST", "TAX_VIOLATION", "SERIOUS_DISHONEST"})
RED_LIST_CATEGORIES = frozenset({"RED_LIST"})

LABELS_ZH = {
    "LICENCE": "行政许可",
    "PENALTY": "行政处罚",
    "COURT_DISHONEST": "失信被执行人",
    "TAX_VIOLATION": "重大税收违法失信主体",
    "SERIOUS_DISHONEST": "严重违法失信企业",
    "ARREARS": "欠费欠缴",
    "RED_LIST": "红名单",
    "OTHER": "其他",
}


def is_blacklist_category(category: str) -> bool:
    return category in BLACKLIST_CATEGORIES
