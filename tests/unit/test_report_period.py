"""Report periods: months and quarters in Beijing days; empty, malformed and future ones refused."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from creditstream.reports.period import ReportInputError, parse_period

TODAY = date(2026, 11, 23)


def test_a_month_runs_from_its_first_day_to_the_next_months():
    p = parse_period("2026-10", TODAY)
    assert (p.label, p.start, p.end, p.last_day) == ("2026-10", date(2026, 10, 1), date(2026, 11, 1), date(2026, 10, 31))
    assert parse_period(" 2026-2 ", TODAY).label == "2026-02"
    assert parse_period("2025-12", TODAY).end == date(2026, 1, 1)


def test_a_quarter_holds_three_months():
    p = parse_period("2026-Q3", TODAY)
    assert (p.label, p.start, p.end) == ("2026-Q3", date(2026, 7, 1), date(2026, 10, 1))
    assert p.months == [date(2026, 7, 1), date(2026, 8, 1), date(2026, 9, 1)]
    assert parse_period("2025q4", TODAY).end == date(2026, 1, 1)


def test_bounds_are_beijing_midnights():
    p = parse_period("2026-10", TODAY)
    assert p.start_instant.astimezone(timezone.utc) == datetime(2026, 9, 30, 16, 0, tzinfo=timezone.utc)


def test_the_running_period_is_judged_up_to_today():
    assert parse_period("2026-11", TODAY).reference_day(TODAY) == TODAY
    assert parse_period("2026-10", TODAY).reference_day(TODAY) == date(2026, 10, 31)


@pytest.mark.parametrize("text, words", [("", "empty"), (None, "empty"), ("   ", "empty"), ("2026-13", "no month 13"),
                                         ("October", "neither"), ("2026-10-01", "neither"), ("2026-Q5", "neither"),
                                         ("2026-12", "future"), ("2027-Q1", "future")])
def test_bad_periods_are_refused_with_a_reason(text, words):
    with pytest.raises(ReportInputError, match=words):
        parse_period(text, TODAY)
