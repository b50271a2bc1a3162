"""Subject identifiers: USCC (GB 32100-2015), resident ID numbers (GB 11643, 18 and old 15
digits), pre-USCC organisation codes (GB 11714) and tax registration numbers, and masking.

The checks are memoised per distinct string: subjects repeat, and the checksum is the costly part.
"""
from __future__ import annotations

import re
from functools import lru_cache
from operator import mul
from typing import NamedTuple

from stdnum.cn import ric, uscc
from stdnum.exceptions import ValidationError

from creditstream.domain import flags as F
from creditstream.domain import reasons as R
from creditstream.domain.normalise import present
from creditstream.domain.reasons import Reason

_MASKED_ID = re.compile(r"^\d{6,14}[*＊]{2,12}\d{0,4}[\dXx]?$")
# The same characters as str.translate deletions: one C pass instead of a regex (a hot path of
# every file row and every stream event). `\s` of a str pattern is exactly str.isspace(), and
# U+3000 (ideographic space) is the highest whitespace character.
_WHITESPACE = [c for c in map(chr, range(0x3001)) if c.isspace()]
_DROP_SEPARATORS = str.maketrans({c: None for c in _WHITESPACE + ["-", "－", "—"]})
_ORG_CODE_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
_ORG_CODE_CHARS = re.compile(r"^[0-9A-Z]{8}[0-9X]$")
# 证件类型 values that mean a resident ID card: the text and the local codes seen in exports.
_RESIDENT_ID_TYPES = frozenset({"", "身份证", "居民身份证", "身份证号", "居民身份证号码", "公民身份号码", "01", "1", "111"})


_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_VALUES = {c: i for i, c in enumerate(_USCC_ALPHABET)}
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_USCC_SHAPE = re.compile(r"[0-9]{8}[0-9A-HJ-NPQRTUWXY]{10}")
_ID18_SHAPE = re.compile(r"[0-9]{17}[0-9X]")


# Not memoised themselves: the whole verdict per subject is (`_identify`, below), and a file of a
# million new subjects would only pay a second cache's misses (bench e2e: every row a new USCC).
def uscc_is_valid(code: str) -> bool:
    """GB 32100-2015, python-stdnum's verdict. A code already compact is checked here by table
    lookups (python-stdnum takes about 10 µs, most of it cleaning and validating the format
    generically); anything else (separators, lower case, wrong characters) is left to it."""
    if not _USCC_SHAPE.fullmatch(code):
        return uscc.is_valid(code)
    total = sum(map(mul, map(_USCC_VALUES.__getitem__, code[:17]), _USCC_WEIGHTS))
    return code[17] == _USCC_ALPHABET[(31 - total) % 31]


def id_number_is_valid(number: str) -> bool:
    """GB 11643, python-stdnum's verdict (ric.validate: check digit, birth date, birth place).
    Its place check (the division must exist in the birth year, a lookup in its division table)
    is most of the 25 µs of a first sight: memoised here by division and year."""
    if not _ID18_SHAPE.fullmatch(number):
        return ric.is_valid(number)
    if number[-1] != ric.calc_check_digit(number):
        return False
    try:
        year = ric.get_birth_date(number).year
    except ValidationError:
        return False
    return _division_in_use(number[:6], year)


@lru_cache(maxsize=16_384)
def _division_in_use(division: str, year: int) -> bool:
    try:
        ric.get_birth_place(f"{division}{year:04d}01010000")  # the place check alone: 1 January of that year
    except ValidationError:
        return False
    return True


@lru_cache(maxsize=100_000)
def org_code_is_valid(code: str) -> bool:
    """GB 11714 organisation code: 8 digits or capitals and a check character (0-9 or X)."""
    if not _ORG_CODE_CHARS.match(code):
        return False
    total = sum(int(c, 36) * w for c, w in zip(code[:8], _ORG_CODE_WEIGHTS))
    check = 11 - total % 11
    return code[8] == {10: "X", 11: "0"}.get(check, str(check))


@lru_cache(maxsize=100_000)
def id15_to_18(number: str) -> str | None:
    """The 18-digit form of an old 15-digit ID number (born 19YY, check digit added), or None
    when the 15 digits are not a valid old number (unknown division, impossible birth date)."""
    if len(number) != 15 or not number.isdigit():
        return None
    body = number[:6] + "19" + number[6:]
    full = body + ric.calc_check_digit(body + "0")
    return full if ric.is_valid(full) else None


def compact(value: str | None) -> str:
    """Upper-case, no spaces (half- or full-width), no separators."""
    if not value:
        return ""
    return value.translate(_DROP_SEPARATORS).upper()


def is_masked_id(number: str) -> bool:
    return bool(_MASKED_ID.match(number))


def mask_id_number(number: str | None) -> str | None:
    """3423011964****3224: keep the division code and birth year, hide month, day and sequence."""
    if not number:
        return number
    if is_masked_id(number):
        return number
    if len(number) == 18:
        return number[:10] + "****" + number[14:]
    if len(number) == 15:
        return number[:8] + "****" + number[12:]
    return number[:2] + "*" * max(len(number) - 4, 1) + number[-2:] if len(number) > 4 else "****"


_FULL_WIDTH = str.maketrans({"（": "(", "）": ")", "〔": "[", "〕": "]", "【": "[", "】": "]", "［": "[", "］": "]",
                             **{c: None for c in _WHITESPACE}})


def normalise_document_number(value: str | None) -> str | None:
    """（2014）沪0115执12号 and (2014) 沪0115执12号 are the same case: half-width brackets, no spaces."""
    if value is None:
        return None
    return value.translate(_FULL_WIDTH) or None


class SubjectId(NamedTuple):
    """The normalised subject id, its kind (SubjectKeyKind), quality flags, and what is wrong
    with it (empty when usable)."""
    key: str
    kind: str
    flags: tuple[str, ...] = ()
    problems: tuple[Reason, ...] = ()


def _person_id(number: str) -> SubjectId:
    if is_masked_id(number):
        return SubjectId(number, "ID_NUMBER_MASKED")
    if len(number) == 18 and id_number_is_valid(number):
        return SubjectId(number, "ID_NUMBER")
    if len(number) == 15:
        full = id15_to_18(number)
        if full:
            return SubjectId(full, "ID_NUMBER", (F.OLD_ID_NUMBER,))
    return SubjectId(number, "ID_NUMBER", (), (Reason(
        R.INVALID_ID_NUMBER, "subject.id_number",
        f"身份证件号码不符合 GB 11643 ID number fails GB 11643: {mask_id_number(number)}"),))


def _organisation_id(code: str, allowed_pilot: bool) -> SubjectId:
    if len(code) == 18:
        if uscc_is_valid(code):
            return SubjectId(code, "USCC")
        if allowed_pilot:  # an early pilot code listed by the deployment: real, though the checksum fails
            return SubjectId(code, "USCC", (F.CHECKSUM_PILOT,))
        return SubjectId(code, "USCC", (), (Reason(
            R.INVALID_USCC, "subject.uscc",
            f"统一社会信用代码校验失败 USCC fails GB 32100-2015 (not in the pilot allow-list): {code}"),))
    if len(code) == 9:
        if org_code_is_valid(code):
            return SubjectId(code, "ORG_CODE", (F.PRE_USCC_CODE,))
        return SubjectId(code, "ORG_CODE", (), (Reason(
            R.INVALID_ORG_CODE, "subject.uscc", f"组织机构代码校验失败 organisation code fails GB 11714: {code}"),))
    if len(code) == 15 and code[:6].isdigit():
        # 税务登记号: the division code of the tax office and the organisation code.
        if org_code_is_valid(code[6:]):
            return SubjectId(code, "TAX_NUMBER", (F.PRE_USCC_CODE,))
        return SubjectId(code, "TAX_NUMBER", (), (Reason(
            R.INVALID_TAX_NUMBER, "subject.uscc",
            f"税务登记号中的组织机构代码校验失败 tax registration number fails GB 11714: {code}"),))
    return SubjectId(code, "USCC", (), (Reason(
        R.INVALID_USCC, "subject.uscc",
        f"统一社会信用代码长度应为18位 USCC must have 18 characters, got {len(code)}: {code}"),))


_MISSING_ID = SubjectId("", "OTHER")


def identify_subject(subject: dict, pilot_usccs: frozenset[str] = frozenset()) -> SubjectId:
    """Who the record is about. Persons by ID number, organisations by USCC (or, before the USCC,
    organisation code or tax registration number), vehicles by plate. A missing id is kind OTHER
    with an empty key; the caller reports it against the subject's required fields."""
    other = subject.get("other_ids") or {}
    fields = (subject.get("type") or "UNKNOWN", subject.get("uscc"), subject.get("id_number"), subject.get("plate"),
              subject.get("id_type"), other.get("org_code"), other.get("tax_registration"))
    try:
        return _identify(fields, pilot_usccs)
    except TypeError:  # a value that cannot be hashed (not from Avro): the same rules, not memoised
        return _identify.__wrapped__(fields, pilot_usccs)


# The whole verdict per subject (its id fields), memoised: subjects repeat, and normalising and
# checking an id again costs several µs even with the checksums memoised.
@lru_cache(maxsize=65_536)
def _identify(fields: tuple, pilot_usccs: frozenset[str]) -> SubjectId:
    stype, uscc_code, id_number, plate, id_type, org_code, tax_registration = fields
    code = compact(present(uscc_code))
    number = compact(present(id_number))
    if stype == "VEHICLE" and plate:
        return SubjectId(compact(plate), "PLATE")
    if stype == "NATURAL_PERSON" or (not code and number):
        if not number:
            return _MISSING_ID
        if (id_type or "").strip() not in _RESIDENT_ID_TYPES:  # passport, travel permits: no national checksum
            return SubjectId(number, "OTHER")
        return _person_id(number)
    code = code or compact(org_code or tax_registration)
    if not code:
        return _MISSING_ID
    return _organisation_id(code, code in pilot_usccs)


def routing_key(subject: dict) -> str:
    """The Kafka key of a reported subject: the normalised subject id, the same the stream keys
    its outputs and its per-subject state by, so one subject stays on one partition."""
    return identify_subject(subject).key or compact(subject.get("plate"))


# GB 32100-2015, the first two characters: registration authority and entity category.
_INDIVIDUAL_BUSINESS_PREFIXES = frozenset({"92"})
_USCC_AUTHORITY = {"1": "机构编制", "2": "外交", "3": "司法行政", "4": "文化", "5": "民政", "6": "旅游",
                   "7": "宗教", "8": "工会", "9": "工商", "A": "中央军委改革和编制办公室", "N": "农业", "Y": "其他"}


def uscc_subject_type(code: str) -> str:
    """个体工商户 (92...) or 法人及非法人组织, from the registration-authority and category digits."""
    return "INDIVIDUAL_BUSINESS" if code[:2] in _INDIVIDUAL_BUSINESS_PREFIXES else "LEGAL_PERSON"


def uscc_authority(code: str) -> str | None:
    """登记管理部门 named by the first character of a USCC."""
    return _USCC_AUTHORITY.get(code[:1])


def division_code(key: str, kind: str) -> str | None:
    """The GB/T 2260 division code carried in a subject id, when it carries one."""
    if kind == "USCC" and key[2:8].isdigit():
        return key[2:8]
    if kind in ("ID_NUMBER", "ID_NUMBER_MASKED", "TAX_NUMBER") and key[:6].isdigit():
        return key[:6]
    return None


def sex_from_id(key: str, kind: str) -> str | None:
    """GB 11643: the 17th digit is odd for men, even for women."""
    if kind == "ID_NUMBER" and len(key) == 18 and key[16].isdigit():
        return "M" if int(key[16]) % 2 else "F"
    return None
