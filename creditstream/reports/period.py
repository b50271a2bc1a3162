"""The period a report covers: a month (2026-10) or a quarter (2026-Q4), in Beijing time, since
the units' deadlines (the 23rd, the 25th, Fridays) are Beijing calendar days."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from creditstream.domain.normalise import CHINA_TZ

_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
_QUARTER = re.compile(r"^(\d{4})-?Q([1-4])$", re.IGNORECASE)


class ReportInputError(ValueError):
    """Input a report cannot be built from (unknown unit, empty or future period): the caller's
    fault, answered with a clear message and exit code 2 / HTTP 400."""


def add_months(day: date, months: int) -> date:
    """The first day of the month `months` after the month of `day`."""
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def beijing_today() -> date:
    return datetime.now(CHINA_TZ).date()


def beijing_midnight(day: date) -> datetime:
    """The instant a Beijing calendar day begins (timezone-aware; ClickHouse compares it in UTC)."""
    return datetime.combine(day, time.min, tzinfo=CHINA_TZ)


@dataclass(frozen=True)
class ReportPeriod:
    label: str
    start: date   # first day
    end: date     # first day after the period

    @property
    def last_day(self) -> date:
        return self.end - timedelta(days=1)

    @property
    def months(self) -> list[date]:
        out, month = [], self.start
        while month < self.end:
            out.append(month)
            month = add_months(month, 1)
        return out

    @property
    def start_instant(self) -> datetime:
        return beijing_midnight(self.start)

    @property
    def end_instant(self) -> datetime:
        return beijing_midnight(self.end)

    def reference_day(self, today: date) -> date:
        """The last day whose deadlines can be judged: the period's last day, or today while the
        period is still running."""
        return min(self.last_day, today)


def parse_period(text: str | None, today: date | None = None) -> ReportPeriod:
    """2026-10 or 2026-Q4. Empty, malformed and future periods are refused: a report of a period
    that has not begun would list every unit as failing deadlines that are not due."""
    raw = (text or "").strip()
    if not raw:
        raise ReportInputError("报告期为空 the period is empty: give a month (2026-10) or a quarter (2026-Q4)")
    if m := _MONTH.match(raw):
        year, month = int(m[1]), int(m[2])
        if not 1 <= month <= 12:
            raise ReportInputError(f"月份不存在 there is no month {month} in {raw!r}")
        start = date(year, month, 1)
        period = ReportPeriod(f"{year:04d}-{month:02d}", start, add_months(start, 1))
    elif m := _QUARTER.match(raw):
        year, quarter = int(m[1]), int(m[2])
        start = date(year, 3 * quarter - 2, 1)
        period = ReportPeriod(f"{year:04d}-Q{quarter}", start, add_months(start, 3))
    else:
        raise ReportInputError(f"报告期格式错误 period {raw!r} is neither a month (2026-10) nor a quarter (2026-Q4)")
    today = today or beijing_today()
    if period.start > today:
        raise ReportInputError(f"报告期尚未开始 the period {period.label} is in the future (today is {today.isoformat()})")
    return period
