"""Privacy guard: the attributes the credit regulations forbid collecting are removed before a
record is written anywhere, and ID numbers are masked in whatever a person reads.

Prohibited (seed 001, DOMAIN.md): religion, genes, fingerprints, blood type, disease and medical
history, marital status, and — unless a law requires — income, deposits, securities, commercial
insurance, real estate, tax paid amounts. They can only arrive as extra source columns (the
`raw` map, `subject.other_ids`), matched here by Chinese or English field name; only the names
removed are kept and counted, never their values.
"""
from __future__ import annotations

import re
from functools import lru_cache

# attribute -> patterns over the field name (lower-cased, without spaces, "_", "-", ".").
# Precise on purpose: 社会保险 (social insurance arrears) and 物业 (property management fees) are
# ordinary credit data; 偷税金额 (evaded tax, part of a tax violation's facts) is not a tax paid amount.
PROHIBITED_ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "religion": (r"宗教", r"信仰", r"religio", r"faith"),
    "genes": (r"基因", r"genet", r"^gene", r"dna"),
    "fingerprints": (r"指纹", r"fingerprint"),
    "blood_type": (r"血型", r"bloodtype", r"bloodgroup"),
    "medical_history": (r"疾病", r"病史", r"病历", r"既往史", r"健康状况", r"诊断", r"disease", r"medical",
                        r"illness", r"diagnos", r"healthstatus", r"healthcondition"),
    "marital_status": (r"婚姻", r"婚否", r"配偶", r"marital", r"marriage", r"married", r"spouse"),
    "income": (r"收入", r"工资", r"薪酬", r"薪资", r"年薪", r"月薪", r"income", r"salary", r"wage"),
    "deposits": (r"存款", r"储蓄", r"bankdeposit", r"savings"),
    "securities": (r"有价证券", r"证券", r"股票", r"债券", r"securities", r"stockholding", r"shareholding"),
    "commercial_insurance": (r"商业保险", r"商业险", r"保单", r"commercialinsurance", r"insurancepolicy"),
    "real_estate": (r"不动产", r"房产", r"房地产", r"房屋所有权", r"房屋产权", r"realestate", r"realproperty"),
    "tax_amount": (r"纳税.*额", r"缴税.*额", r"完税.*额", r"taxamount", r"taxpaid", r"taxespaid",
                   r"amountoftax"),
}
_COMPILED = {attr: re.compile("|".join(patterns)) for attr, patterns in PROHIBITED_ATTRIBUTES.items()}
_NAME_NOISE = re.compile(r"[\s_\-.\u3000]")
# What a subject owes is credit information, not its wealth: 拖欠农民工工资 (wage arrears), 欠缴税额.
_WEALTH = frozenset({"income", "deposits", "securities", "commercial_insurance", "real_estate", "tax_amount"})
_DEBT = re.compile(r"拖欠|欠薪|欠缴|欠费|欠税|逾期|arrear|unpaid|owed|overdue")


@lru_cache(maxsize=20_000)
def prohibited_attribute(field_name: str) -> str | None:
    """Which prohibited attribute a source field name denotes, or None."""
    key = _NAME_NOISE.sub("", field_name.lower())
    owed = _DEBT.search(key) is not None
    for attribute, pattern in _COMPILED.items():
        if pattern.search(key) and not (owed and attribute in _WEALTH):
            return attribute
    return None


_ID_LIKE = re.compile(r"(?<![0-9A-Za-z])(\d{17}[\dXx]|\d{15})(?![0-9A-Za-z])")


def _mask_match(match: re.Match) -> str:
    from creditstream.domain.identifiers import mask_id_number  # local: identifiers imports reasons only
    return mask_id_number(match.group(1))


@lru_cache(maxsize=65_536)
def mask_ids_in_text(text: str) -> str:
    """Every 18- or 15-digit ID-number-shaped run in a text, masked (3423011964****3224)."""
    if len(text) < 15:
        return text
    return _ID_LIKE.sub(_mask_match, text)


def scrub(fields: dict[str, str] | None) -> tuple[dict[str, str], list[str]]:
    """The fields without prohibited attributes, their values' ID numbers masked, and the names
    of the fields removed (sorted, for a stable output)."""
    if not fields:
        return {}, []
    kept: dict[str, str] = {}
    dropped: list[str] = []
    for name, value in fields.items():
        if prohibited_attribute(name):
            dropped.append(name)
        else:
            kept[name] = mask_ids_in_text(value) if isinstance(value, str) else value
    dropped.sort()
    return kept, dropped
