"""Reporting obligations and whether they were met: pure decisions over what units filed.

The rules (seeds 004 and 001):
- 月度零报送: a unit with nothing for an indicator set in a month files a zero report by the 25th
  of that month. Met by accepted records from the 1st to the 25th, or a zero report for the
  month filed by the end of the 25th; records later in the month, or the zero report filed
  late, make it late; records of the next month do not count for this one. Applies to sets updated at least monthly (实时 日 周 月);
  quarterly and yearly sets are judged by their frequency instead.
- 双公示周零报送: a 双公示 set (licences, penalties) with nothing in a week files a zero report on
  Friday. Met by records from Monday to Friday, or a zero report for the ISO week by Friday's end.
- 月报 by day d (units whose deadline is "month:d", d = 23 in seed 001): the previous month's
  information by the d-th. Met by records after the previous deadline up to this one, or a zero
  report for the previous month filed by the deadline.
- Frequency: every set has something (records or a zero report covering it) in the last
  complete window of its frequency; 实时 sets are held to weekly windows.
Days are Beijing calendar days; a deadline day counts whole.
"""
from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from creditstream.domain.normalise import CHINA_TZ
from creditstream.domain.timeliness import is_working_day
from creditstream.reports.period import add_months

MONTHLY_ZERO, WEEKLY_ZERO, MONTHLY_REPORT = "monthly_zero", "weekly_zero", "monthly_report"
RULE_LABELS = {MONTHLY_ZERO: "月度零报送", WEEKLY_ZERO: "双公示周零报送", MONTHLY_REPORT: "月报"}
ON_TIME, LATE, MISSING = "on_time", "late", "missing"
STATUS_LABELS = {ON_TIME: "按时", LATE: "逾期", MISSING: "未报送"}
ZERO_DUE_DAY = 25
AT_LEAST_MONTHLY = frozenset({"实时", "日", "周", "月"})
PUBLICITY_CATEGORIES = frozenset({"LICENCE", "PENALTY"})


@dataclass(frozen=True)
class ZeroFiling:
    kind: str            # MONTH, WEEK, QUARTER (zero_reports.period_kind)
    start: date
    filed: datetime      # first filing, timezone-aware

    @property
    def end(self) -> date:
        """Last day of the period the filing covers."""
        if self.kind == "WEEK":
            return self.start + timedelta(days=6)
        return add_months(self.start, 3 if self.kind == "QUARTER" else 1) - timedelta(days=1)

    @property
    def filed_day(self) -> date:
        return self.filed.astimezone(CHINA_TZ).date()


@dataclass
class Activity:
    """What each (unit, indicator set) filed: days with accepted records, and zero reports."""
    record_days: dict[tuple[str, str], list[date]] = field(default_factory=dict)   # sorted
    zero_filings: dict[tuple[str, str], list[ZeroFiling]] = field(default_factory=dict)

    def records_between(self, pair: tuple[str, str], first: date, last: date) -> bool:
        days = self.record_days.get(pair, [])
        return bisect_right(days, last) > bisect_left(days, first)

    def first_record_after(self, pair: tuple[str, str], day: date) -> date | None:
        days = self.record_days.get(pair, [])
        i = bisect_right(days, day)
        return days[i] if i < len(days) else None

    def zero_filing(self, pair: tuple[str, str], kind: str, start: date) -> ZeroFiling | None:
        found = [z for z in self.zero_filings.get(pair, []) if z.kind == kind and z.start == start]
        return min(found, key=lambda z: z.filed) if found else None

    def last_update(self, pair: tuple[str, str]) -> date | None:
        days = [d for d in self.record_days.get(pair, [])[-1:]] + [z.filed_day for z in self.zero_filings.get(pair, [])]
        return max(days, default=None)


@dataclass(frozen=True)
class Obligation:
    rule: str
    unit: str
    set: str
    period: str          # the period owed: 2026-10, 2026-W43
    window_start: date   # records from this day on meet it
    due: date            # ... up to and including this day
    zero_kind: str       # the zero report that meets it instead
    zero_start: date
    late_until: date     # records up to this day are the same filing, late; later ones belong to the next


@dataclass(frozen=True)
class Verdict:
    obligation: Obligation
    status: str
    detail: str


def monthly_zero_obligations(pairs, months: list[date], today: date) -> list[Obligation]:
    out = []
    for month in months:
        due = month.replace(day=ZERO_DUE_DAY)
        if due < today:
            month_end = add_months(month, 1) - timedelta(days=1)
            out += [Obligation(MONTHLY_ZERO, u, s, f"{month:%Y-%m}", month, due, "MONTH", month, month_end)
                    for u, s in pairs]
    return out


def weekly_zero_obligations(pairs, first: date, end: date, today: date) -> list[Obligation]:
    """Weeks whose Friday falls in [first, end) and has passed."""
    out = []
    friday = first + timedelta(days=(4 - first.weekday()) % 7)
    while friday < end and friday < today:
        monday = friday - timedelta(days=4)
        iso = monday.isocalendar()
        out += [Obligation(WEEKLY_ZERO, u, s, f"{iso.year}-W{iso.week:02d}", monday, friday, "WEEK", monday,
                           friday + timedelta(days=2)) for u, s in pairs]
        friday += timedelta(days=7)
    return out


def monthly_report_obligations(pairs_with_day, months: list[date], today: date) -> list[Obligation]:
    """pairs_with_day: (unit, set, d). The report due on the d-th of each month of the period
    covers the month before."""
    out = []
    for month in months:
        for unit, set_code, day in pairs_with_day:
            due = month.replace(day=day)
            if due < today:
                previous = add_months(month, -1)
                out.append(Obligation(MONTHLY_REPORT, unit, set_code, f"{previous:%Y-%m}",
                                      previous.replace(day=day) + timedelta(days=1), due, "MONTH", previous,
                                      add_months(month, 1).replace(day=day)))
    return out


def judge(obligation: Obligation, activity: Activity) -> Verdict:
    pair = (obligation.unit, obligation.set)
    if activity.records_between(pair, obligation.window_start, obligation.due):
        return Verdict(obligation, ON_TIME, "已报送数据")
    filing = activity.zero_filing(pair, obligation.zero_kind, obligation.zero_start)
    if filing is not None and filing.filed_day <= obligation.due:
        return Verdict(obligation, ON_TIME, "已零报送")
    later = activity.first_record_after(pair, obligation.due)
    if later is not None and later > obligation.late_until:
        later = None
    if filing is not None and (later is None or filing.filed_day <= later):
        return Verdict(obligation, LATE, f"{filing.filed_day.isoformat()} 零报送(逾期)")
    if later is not None:
        return Verdict(obligation, LATE, f"{later.isoformat()} 报送数据(逾期)")
    return Verdict(obligation, MISSING, "截止日前未报送数据，也未零报送")


# -- frequency windows -------------------------------------------------------------------------
def _window_containing(frequency: str, day: date) -> tuple[str, date, date]:
    if frequency == "日":
        return day.isoformat(), day, day
    if frequency in ("周", "实时"):
        monday = day - timedelta(days=day.weekday())
        iso = monday.isocalendar()
        return f"{iso.year}-W{iso.week:02d}", monday, monday + timedelta(days=6)
    if frequency == "月":
        start = day.replace(day=1)
        return f"{start:%Y-%m}", start, add_months(start, 1) - timedelta(days=1)
    if frequency == "季度":
        start = date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
        return f"{start.year}-Q{(start.month - 1) // 3 + 1}", start, add_months(start, 3) - timedelta(days=1)
    if frequency == "年":
        return str(day.year), date(day.year, 1, 1), date(day.year, 12, 31)
    raise ValueError(f"unknown frequency {frequency!r}")


def last_complete_window(frequency: str, cutoff: date) -> tuple[str, date, date]:
    """The latest window of the frequency that ends on or before `cutoff`. Daily sets are held to
    working days only."""
    day = cutoff
    if frequency == "日":
        while not is_working_day(day):
            day -= timedelta(days=1)
        return _window_containing(frequency, day)
    label, start, end = _window_containing(frequency, day)
    if end > cutoff:
        label, start, end = _window_containing(frequency, start - timedelta(days=1))
    return label, start, end


def has_update_in(activity: Activity, pair: tuple[str, str], start: date, end: date) -> bool:
    if activity.records_between(pair, start, end):
        return True
    return any(z.start <= end and z.end >= start for z in activity.zero_filings.get(pair, []))
