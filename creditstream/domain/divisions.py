"""GB/T 2260 administrative divisions, from the table python-stdnum ships (stdnum/cn/loc.dat,
the same table its ID-number check uses), so the region of a subject and the validity of its ID
number agree."""
from __future__ import annotations

import re
from functools import lru_cache

from stdnum import numdb

_YEARS = re.compile(r"^\[[0-9-]*\]")


@lru_cache(maxsize=1)
def _table():
    return numdb.get("cn/loc")


@lru_cache(maxsize=20_000)
def division_name(code: str) -> str | None:
    """湖北省黄石港区 for 420202; None when the table does not know the code. A county that
    changed names over time lists its names with their years; the latest is taken."""
    if len(code) != 6 or not code.isdigit():
        return None
    info = {k: v for _part, props in _table().info(code) for k, v in props.items()}
    if "province" not in info:
        return None
    county = info.get("county", "")
    if county:
        county = _YEARS.sub("", county.split(",")[-1])
    return info["province"] + county


def is_known_division(code: str | None) -> bool:
    return bool(code) and division_name(code) is not None


def province_of(code: str) -> str:
    """420202 -> 420000."""
    return code[:2] + "0000"
