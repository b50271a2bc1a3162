"""Reporting periods as units write them in zero reports: 2026-11, 2026-W47, 2026-Q4."""
from __future__ import annotations

import re
from datetime import date

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")


def period_start(period: str) -> tuple[str, date | None]:
    """(kind, first day): MONTH, WEEK (ISO week, from its Monday), QUARTER, or ('OTHER', None) for
    anything else, so an odd period is still stored and shown rather than refused."""
    text = (period or "").strip()
    try:
        if m := _MONTH.match(text):
            return "MONTH", date(int(m[1]), int(m[2]), 1)
        if m := _WEEK.match(text):
            return "WEEK", date.fromisocalendar(int(m[1]), int(m[2]), 1)
        if m := _QUARTER.match(text):
            return "QUARTER", date(int(m[1]), 3 * int(m[2]) - 2, 1)
    except ValueError:  # 2026-13, 2026-W54
        pass
    return "OTHER", None
