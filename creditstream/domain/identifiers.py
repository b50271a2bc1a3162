"""Subject identifiers: USCC (GB 32100-2015), resident ID numbers (GB 11643), and masking."""
from __future__ import annotations

import re
from functools import lru_cache

from stdnum.cn import ric, uscc

_MASKED_ID = re.compile(r"^\d{6,14}[*＊]{2,12}\d{0,4}[\dXx]?$")


@lru_cache(maxsize=200_000)  # subjects repeat; the checksum is the costly part
def uscc_is_valid(code: str) -> bool:
    return uscc.is_valid(code)


@lru_cache(maxsize=200_000)
def id_number_is_valid(number: str) -> bool:
    return ric.is_valid(number)


def compact(value: str | None) -> str:
    """Upper-case, no spaces (half- or full-width), no separators."""
    if not value:
        return ""
    return re.sub(r"[\s\u3000\-]", "", value).upper()


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


_FULL_WIDTH = str.maketrans({"（": "(", "）": ")", "〔": "[", "〕": "]", "【": "[", "】": "]", "［": "[", "］": "]"})


def normalise_document_number(value: str | None) -> str | None:
    """（2014）沪0115执12号 and (2014) 沪0115执12号 are the same case: half-width brackets, no spaces."""
    if value is None:
        return None
    value = re.sub(r"[\s\u3000]", "", value.translate(_FULL_WIDTH))
    return value or None


def routing_key(subject: dict) -> str:
    """The Kafka key of a reported subject: USCC for organisations, ID number for persons."""
    if subject.get("type") == "NATURAL_PERSON":
        return compact(subject.get("id_number")) or compact(subject.get("uscc"))
    return compact(subject.get("uscc")) or compact(subject.get("id_number")) or compact(subject.get("plate"))
