"""零报送: a unit's statement that it has nothing new for an indicator set in a period (monthly
by the 25th, weekly on Fridays for 双公示). Silence is a compliance failure; this is not silence.

The period is a month (2026-11), an ISO week (2026-W47) or a quarter (2026-Q4). A zero report
for a period that has not begun is refused: nobody can know yet that it will bring nothing.
"""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone

from avro_schemas.codec import ZERO_REPORT
from creditstream.topics import ZERO_REPORTS

_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
_WEEK = re.compile(r"^(\d{4})-?W(\d{1,2})$", re.IGNORECASE)
_QUARTER = re.compile(r"^(\d{4})-?Q([1-4])$", re.IGNORECASE)


class ZeroReportProblem(ValueError):
    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field

    def as_dict(self) -> dict:
        return {"code": "invalid_zero_report", "field": self.field, "message": str(self)}


def parse_period(text: str) -> tuple[str, date, date]:
    """The canonical spelling of a period and its first and last day."""
    text = (text or "").strip()
    if m := _MONTH.match(text):
        year, month = int(m[1]), int(m[2])
        if not 1 <= month <= 12:
            raise ZeroReportProblem("period", f"月份不存在 no month {month} in {text!r}")
        start = date(year, month, 1)
        end = (date(year + month // 12, month % 12 + 1, 1)) - timedelta(days=1)
        return f"{year:04d}-{month:02d}", start, end
    if m := _WEEK.match(text):
        year, week = int(m[1]), int(m[2])
        try:
            start = date.fromisocalendar(year, week, 1)
        except ValueError:
            raise ZeroReportProblem("period", f"周次不存在 no ISO week {week} in {year}") from None
        return f"{year:04d}-W{week:02d}", start, start + timedelta(days=6)
    if m := _QUARTER.match(text):
        year, quarter = int(m[1]), int(m[2])
        start = date(year, 3 * quarter - 2, 1)
        end = date(year + quarter // 4, (3 * quarter) % 12 + 1, 1) - timedelta(days=1)
        return f"{year:04d}-Q{quarter}", start, end
    raise ZeroReportProblem("period", f"报送周期格式错误 period {text!r} is not a month (2026-11), "
                                      "an ISO week (2026-W47) or a quarter (2026-Q4)")


def zero_report(unit: str, catalog: str, period: str, reporter: str, note: str | None = None,
                mode: str = "INTERFACE", now: datetime | None = None) -> dict:
    """A ZeroReport record, or ZeroReportProblem naming the field that is wrong."""
    now = now or datetime.now(timezone.utc)
    if not (unit or "").strip():
        raise ZeroReportProblem("source_unit", "信源单位代码缺失 the unit code is missing")
    if not (catalog or "").strip():
        raise ZeroReportProblem("catalog", "指标集代码缺失 the indicator set (catalog) code is missing")
    canonical, start, _ = parse_period(period)
    if start > now.date():
        raise ZeroReportProblem("period", f"报送周期尚未开始 the period {canonical} has not begun")
    return {"source_unit": unit.strip(), "catalog": catalog.strip(), "period": canonical,
            "reported_at": int(now.timestamp() * 1000), "reporter": reporter, "note": note or None,
            "reporting_mode": mode}


def zero_report_key(report: dict) -> str:
    """One key per unit, indicator set and period: a repeated statement replaces the earlier one."""
    return f"{report['source_unit']}|{report['catalog']}|{report['period']}"


def zero_report_producer(bootstrap_servers: str):
    from producers.credit_producer import CreditProducer

    return CreditProducer(bootstrap_servers, topic=ZERO_REPORTS, record=ZERO_REPORT)


def publish(producer, report: dict, on_delivery=None) -> None:
    producer.send(report, key=zero_report_key(report), on_delivery=on_delivery)
