"""Timeliness: working days between a decision and its report, and the unit's deadline rule.

Working days follow the State Council's holiday notices as the chinese-calendar package keeps
them (holidays off, make-up Saturdays and Sundays on). Years the package does not cover yet
count Monday to Friday. A cumulative index over the days makes every difference O(1): the
stream asks this for every record.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

from chinese_calendar.constants import holidays, workdays

_FIRST = date(1990, 1, 1)
_LAST = date(2100, 12, 31)


def is_working_day(day: date) -> bool:
    if day in workdays:
        return True
    return day.weekday() < 5 and day not in holidays


def _cumulative() -> list[int]:
    counts, total, day = [], 0, _FIRST
    while day <= _LAST:
        total += is_working_day(day)
        counts.append(total)
        day += timedelta(days=1)
    return counts


_WORKING_DAYS_UP_TO = _cumulative()  # [i] = working days from _FIRST through _FIRST + i
_FIRST_ORDINAL = _FIRST.toordinal()
_LAST_INDEX = len(_WORKING_DAYS_UP_TO) - 1


def _index(day: date) -> int:
    # Ordinals, clamped to the table: a fifth of the time of date arithmetic (a timedelta per call).
    i = day.toordinal() - _FIRST_ORDINAL
    return _WORKING_DAYS_UP_TO[0 if i < 0 else (i if i < _LAST_INDEX else _LAST_INDEX)]


def working_days_between(start: date, end: date) -> int:
    """Working days after `start` up to and including `end`: a decision on Friday reported on
    Monday took 1; reported the same day, 0; reported before the decision (a clock error), 0."""
    if end <= start:
        return 0
    return _index(end) - _index(start)


@dataclass(frozen=True)
class DeadlineRule:
    """A unit's reporting deadline: n working days after the decision, or by day d of the next
    month, or none."""
    working_days: int | None = None
    day_of_next_month: int | None = None

    def is_late(self, decided: date, reported: date) -> bool:
        if self.working_days is not None:
            return working_days_between(decided, reported) > self.working_days
        if self.day_of_next_month is not None:
            year, month = (decided.year + 1, 1) if decided.month == 12 else (decided.year, decided.month + 1)
            return reported > date(year, month, self.day_of_next_month)
        return False


@lru_cache(maxsize=None)
def parse_deadline(rule: str) -> DeadlineRule:
    """"2wd" -> 2 working days; "month:23" -> by the 23rd of the next month; "none"."""
    text = rule.strip().lower()
    if text in ("", "none"):
        return DeadlineRule()
    if text.endswith("wd") and text[:-2].isdigit():
        return DeadlineRule(working_days=int(text[:-2]))
    if text.startswith("month:") and text[6:].isdigit() and 1 <= int(text[6:]) <= 28:
        return DeadlineRule(day_of_next_month=int(text[6:]))
    raise ValueError(f"unknown deadline rule {rule!r}: use '<n>wd', 'month:<day 1-28>' or 'none'")
