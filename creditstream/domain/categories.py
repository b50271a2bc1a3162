"""What each category means for routing and which decision fields it needs."""
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

# Key fields beyond the subject's own (seed 004): 事项名称 and 事由 for every record, plus the
# decision's 决定文书号, 决定机关, 决定时间 where the category has a formal decision. An indicator
# set in the unit catalog may replace these with its own list.
_DECISION = ("decision.document_number", "decision.authority", "decision.date")
REQUIRED_FIELDS: dict[str, tuple[str, ...]] = {
    "LICENCE": ("matter.name", "matter.cause") + _DECISION,
    "PENALTY": ("matter.name", "matter.cause") + _DECISION,
    "COURT_DISHONEST": ("matter.name", "matter.cause") + _DECISION,
    "SERIOUS_DISHONEST": ("matter.name", "matter.cause") + _DECISION,
    "TAX_VIOLATION": ("matter.name", "matter.cause", "decision.authority", "decision.date"),
    "RED_LIST": ("matter.name", "decision.authority", "decision.date"),
    "ARREARS": ("matter.name", "matter.cause"),
    "OTHER": ("matter.name",),
}

FIELD_LABELS_ZH = {
    "subject.name": "名称/姓名",
    "subject.uscc": "统一社会信用代码",
    "subject.id_number": "身份证件号码",
    "subject.sex": "性别",
    "subject.plate": "车牌号",
    "matter.name": "事项名称",
    "matter.cause": "事由",
    "decision.document_number": "决定文书号",
    "decision.authority": "决定机关",
    "decision.date": "决定时间",
    "decision.valid_until": "决定有效期",
}


def is_blacklist_category(category: str) -> bool:
    return category in BLACKLIST_CATEGORIES
