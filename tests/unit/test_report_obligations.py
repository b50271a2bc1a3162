"""The reporting obligations (zero reports by the 25th and on Fridays, the monthly report by the
23rd, update frequencies) and how each is judged from what a unit filed."""
from __future__ import annotations

from datetime import date, datetime, timezone

from creditstream.domain.normalise import CHINA_TZ
from creditstream.reports import obligations as ob

PAIR = ("HF-420200", "HF-QJ")
OCTOBER = [date(2026, 10, 1)]


def filed(day: str, hour: int = 10) -> datetime:
    return datetime.fromisoformat(f"{day}T{hour:02d}:00").replace(tzinfo=CHINA_TZ)


def activity(record_days=(), zero=()) -> ob.Activity:
    return ob.Activity({PAIR: sorted(date.fromisoformat(d) for d in record_days)},
                       {PAIR: [ob.ZeroFiling(kind, date.fromisoformat(start), filed(day)) for kind, start, day in zero]})


def monthly_zero(today=date(2026, 11, 1)) -> ob.Obligation:
    (obligation,) = ob.monthly_zero_obligations([PAIR], OCTOBER, today)
    return obligation


def test_monthly_zero_report_is_due_on_the_25th_and_judged_after_it():
    o = monthly_zero()
    assert (o.period, o.window_start, o.due, o.zero_kind, o.zero_start) == \
        ("2026-10", date(2026, 10, 1), date(2026, 10, 25), "MONTH", date(2026, 10, 1))
    assert ob.monthly_zero_obligations([PAIR], OCTOBER, date(2026, 10, 25)) == []   # the 25th is not over


def test_records_or_a_timely_zero_report_meet_it():
    assert ob.judge(monthly_zero(), activity(["2026-10-25"])).status == ob.ON_TIME
    assert ob.judge(monthly_zero(), activity(zero=[("MONTH", "2026-10-01", "2026-10-25")])).detail == "已零报送"


def test_a_late_zero_report_or_late_records_are_late_and_say_when():
    late_zero = ob.judge(monthly_zero(), activity(["2026-10-29"], zero=[("MONTH", "2026-10-01", "2026-10-27")]))
    assert (late_zero.status, late_zero.detail) == (ob.LATE, "2026-10-27 零报送(逾期)")
    late_records = ob.judge(monthly_zero(), activity(["2026-10-26"]))
    assert (late_records.status, late_records.detail) == (ob.LATE, "2026-10-26 报送数据(逾期)")


def test_silence_or_the_wrong_zero_report_is_missing():
    assert ob.judge(monthly_zero(), activity()).status == ob.MISSING
    assert ob.judge(monthly_zero(), activity(zero=[("MONTH", "2026-09-01", "2026-10-10")])).status == ob.MISSING
    assert ob.judge(monthly_zero(), activity(["2026-09-30"])).status == ob.MISSING


def test_weekly_publicity_zero_reports_fall_due_on_the_fridays_of_the_period():
    weeks = ob.weekly_zero_obligations([PAIR], date(2026, 10, 1), date(2026, 11, 1), date(2026, 10, 24))
    assert [(o.period, o.window_start, o.due) for o in weeks] == [
        ("2026-W40", date(2026, 9, 28), date(2026, 10, 2)), ("2026-W41", date(2026, 10, 5), date(2026, 10, 9)),
        ("2026-W42", date(2026, 10, 12), date(2026, 10, 16)), ("2026-W43", date(2026, 10, 19), date(2026, 10, 23))]
    w43 = weeks[-1]
    assert ob.judge(w43, activity(["2026-10-23"])).status == ob.ON_TIME
    assert ob.judge(w43, activity(["2026-10-24"])).status == ob.LATE          # Saturday is past Friday
    assert ob.judge(w43, activity(zero=[("WEEK", "2026-10-19", "2026-10-23")])).status == ob.ON_TIME


def test_monthly_report_covers_the_previous_month_from_the_last_deadline():
    (o,) = ob.monthly_report_obligations([(*PAIR, 23)], OCTOBER, date(2026, 10, 24))
    assert (o.period, o.window_start, o.due, o.zero_start) == \
        ("2026-09", date(2026, 9, 24), date(2026, 10, 23), date(2026, 9, 1))
    assert ob.judge(o, activity(["2026-09-23"])).status == ob.MISSING       # that met September's own deadline
    assert ob.judge(o, activity(["2026-09-24"])).status == ob.ON_TIME
    assert ob.judge(o, activity(zero=[("MONTH", "2026-09-01", "2026-10-23")])).status == ob.ON_TIME
    assert ob.monthly_report_obligations([(*PAIR, 23)], OCTOBER, date(2026, 10, 23)) == []


def test_frequency_windows_are_the_last_complete_ones():
    saturday = date(2026, 10, 31)
    assert ob.last_complete_window("月", saturday) == ("2026-10", date(2026, 10, 1), date(2026, 10, 31))
    assert ob.last_complete_window("月", date(2026, 10, 30))[0] == "2026-09"
    assert ob.last_complete_window("季度", saturday) == ("2026-Q3", date(2026, 7, 1), date(2026, 9, 30))
    assert ob.last_complete_window("周", saturday) == ("2026-W43", date(2026, 10, 19), date(2026, 10, 25))
    assert ob.last_complete_window("实时", date(2026, 10, 25))[0] == "2026-W43"
    assert ob.last_complete_window("年", saturday)[0] == "2025"
    assert ob.last_complete_window("日", saturday) == ("2026-10-30", date(2026, 10, 30), date(2026, 10, 30))


def test_a_zero_report_covering_the_window_is_an_update():
    quiet = activity(zero=[("MONTH", "2026-10-01", "2026-10-20")])
    assert ob.has_update_in(quiet, PAIR, date(2026, 10, 19), date(2026, 10, 25))
    assert not ob.has_update_in(quiet, PAIR, date(2026, 7, 1), date(2026, 9, 30))
    assert ob.has_update_in(activity(["2026-09-30"]), PAIR, date(2026, 7, 1), date(2026, 9, 30))
    assert ob.Activity().last_update(PAIR) is None
    assert activity(["2026-10-02"], zero=[("MONTH", "2026-10-01", "2026-10-20")]).last_update(PAIR) == date(2026, 10, 20)


def test_records_of_the_next_period_do_not_make_a_missed_one_late():
    assert ob.judge(monthly_zero(), activity(["2026-10-31"])).status == ob.LATE
    assert ob.judge(monthly_zero(), activity(["2026-11-02"])).status == ob.MISSING
    (w43,) = ob.weekly_zero_obligations([PAIR], date(2026, 10, 19), date(2026, 10, 26), date(2026, 11, 1))
    assert ob.judge(w43, activity(["2026-10-25"])).status == ob.LATE        # Sunday of the same week
    assert ob.judge(w43, activity(["2026-10-26"])).status == ob.MISSING     # the next week's
    assert ob.judge(w43, activity(zero=[("WEEK", "2026-10-19", "2026-11-20")])).status == ob.LATE


def test_deadlines_are_beijing_days():
    half_past_midnight = datetime(2026, 10, 25, 16, 30, tzinfo=timezone.utc)     # 10-26 00:30 in Beijing
    late = ob.Activity(zero_filings={PAIR: [ob.ZeroFiling("MONTH", date(2026, 10, 1), half_past_midnight)]})
    assert ob.judge(monthly_zero(), late).status == ob.LATE
    just_in = ob.Activity(zero_filings={PAIR: [ob.ZeroFiling("MONTH", date(2026, 10, 1),
                                                             datetime(2026, 10, 25, 15, 59, tzinfo=timezone.utc))]})
    assert ob.judge(monthly_zero(), just_in).status == ob.ON_TIME
