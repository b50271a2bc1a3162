"""报送合规情况: who missed a zero report (monthly by the 25th, 双公示 weekly on Friday), which
indicator sets are overdue for their update frequency, who missed the monthly report deadline
(the 23rd), and objections past their statutory deadlines. Only failures are listed: a unit that
met a deadline does not appear. The rules are in reports/obligations.py."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from creditstream.domain.normalise import CHINA_TZ
from creditstream.reports import obligations as ob
from creditstream.reports.model import Column, Table
from creditstream.reports.period import beijing_midnight
from creditstream.reports.source import ReportContext

TITLE = "信用信息报送合规情况表"

_UNIT_COLUMNS = [Column("unit_name", "信源单位"), Column("unit", "单位代码"), Column("set_name", "指标集名称"),
                 Column("set", "指标集代码")]
ZERO_COLUMNS = _UNIT_COLUMNS + [Column("rule", "零报送类型"), Column("period", "报送周期"), Column("due", "截止日期", "date"),
                                Column("status", "状态"), Column("detail", "说明")]
MONTHLY_REPORT_COLUMNS = _UNIT_COLUMNS + [Column("period", "数据月份"), Column("due", "截止日期", "date"),
                                          Column("status", "状态"), Column("detail", "说明")]
OVERDUE_COLUMNS = _UNIT_COLUMNS + [Column("frequency", "更新频率"), Column("window", "应更新周期"),
                                   Column("window_end", "周期截止", "date"), Column("last_update", "最近更新", "date"),
                                   Column("days_overdue", "逾期天数", "int")]
OBJECTION_COLUMNS = [Column("objection", "异议编号"), Column("unit_name", "信源单位"), Column("unit", "单位代码"),
                     Column("step", "办理环节"), Column("due", "法定期限", "datetime"),
                     Column("done", "办结时间", "datetime"), Column("days_overdue", "逾期天数", "int")]

# Days with accepted records per unit and set (the per-unit daily counts, Beijing days, 0007).
_RECORD_DAYS_SQL = """
SELECT source_unit, catalog, groupArray(day)
FROM (SELECT source_unit, catalog, day FROM {db}.unit_counts_day
      WHERE day >= {first:Date} AND day <= {last:Date}%s
      GROUP BY source_unit, catalog, day HAVING sum(records) > 0 ORDER BY day)
GROUP BY source_unit, catalog
"""
_LAST_RECORD_DAY_SQL = """
SELECT source_unit, catalog, max(day)
FROM (SELECT source_unit, catalog, day FROM {db}.unit_counts_day WHERE day <= {last:Date}%s
      GROUP BY source_unit, catalog, day HAVING sum(records) > 0)
GROUP BY source_unit, catalog
"""
_ZERO_SQL = """
SELECT source_unit, catalog, toString(period_kind), period_start, min(reported_at)
FROM {db}.zero_reports
WHERE period_start IS NOT NULL AND period_start >= {first:Date} AND reported_at < {until:DateTime64(3, 'UTC')}%s
GROUP BY source_unit, catalog, period_kind, period_start
"""
# Objections arrive with the check API (issue 8): one row per objection and statutory step.
OBJECTION_TABLE = "objection_deadlines"
OBJECTION_NEEDS = {"objection_id", "source_unit", "step", "due_at", "done_at"}
_OBJECTIONS_SQL = """
SELECT objection_id, source_unit, step, due_at, done_at
FROM {db}.objection_deadlines
WHERE due_at >= {start:DateTime64(3, 'UTC')} AND due_at < {end:DateTime64(3, 'UTC')}
  AND (done_at IS NULL AND due_at < {now:DateTime64(3, 'UTC')} OR done_at > due_at)%s
ORDER BY due_at, objection_id
"""
# How far back the history is read: a yearly set's last complete window can start a year back.
_LOOKBACK_DAYS = 800


def load_activity(ctx: ReportContext) -> ob.Activity:
    """Record days and zero reports from far enough back for every window the period judges."""
    first = ctx.period.start - timedelta(days=_LOOKBACK_DAYS)
    unit_sql, unit_params = ctx.unit_filter()
    activity = ob.Activity()
    for unit, set_code, days in ctx.source.rows(_RECORD_DAYS_SQL % unit_sql, first=first, last=ctx.today, **unit_params):
        activity.record_days[(unit, set_code)] = sorted(days)
    for unit, set_code, kind, start, filed in ctx.source.rows(
            _ZERO_SQL % unit_sql, first=first - timedelta(days=100), until=beijing_midnight(ctx.today + timedelta(days=1)),
            **unit_params):
        activity.zero_filings.setdefault((unit, set_code), []).append(ob.ZeroFiling(kind, start, _aware(filed)))
    return activity


def _aware(moment: datetime) -> datetime:
    """clickhouse-connect hands back naive datetimes for UTC columns."""
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _pairs(ctx: ReportContext, keep) -> list[tuple[str, str]]:
    return [(u.code, s) for u in ctx.catalog.units.values() if ctx.wants(u.code)
            for s in u.indicator_sets if keep(u, ctx.catalog.indicator_sets[s])]


def build(ctx: ReportContext) -> list[Table]:
    activity = load_activity(ctx)
    return [_zero_reports(ctx, activity), _monthly_reports(ctx, activity), _overdue(ctx, activity),
            _objections(ctx)]


def _unit_cells(ctx: ReportContext, unit: str, set_code: str) -> dict:
    spec = ctx.catalog.indicator_sets.get(set_code)
    return {"unit_name": ctx.unit_name(unit), "unit": unit, "set_name": spec.name if spec else set_code, "set": set_code}


def _failures(obligations: list[ob.Obligation], activity: ob.Activity) -> list[ob.Verdict]:
    verdicts = [ob.judge(o, activity) for o in obligations]
    return [v for v in verdicts if v.status != ob.ON_TIME]


def zero_report_obligations(ctx: ReportContext) -> list[ob.Obligation]:
    monthly = _pairs(ctx, lambda _u, s: s.frequency in ob.AT_LEAST_MONTHLY)
    weekly = _pairs(ctx, lambda _u, s: s.category in ob.PUBLICITY_CATEGORIES)
    return (ob.monthly_zero_obligations(monthly, ctx.period.months, ctx.today)
            + ob.weekly_zero_obligations(weekly, ctx.period.start, ctx.period.end, ctx.today))


def monthly_report_obligations(ctx: ReportContext) -> list[ob.Obligation]:
    with_day = [(u.code, s, u.deadline.day_of_next_month) for u in ctx.catalog.units.values()
                if ctx.wants(u.code) and u.deadline.day_of_next_month for s in u.indicator_sets]
    return ob.monthly_report_obligations(with_day, ctx.period.months, ctx.today)


def _zero_reports(ctx: ReportContext, activity: ob.Activity) -> Table:
    obligations = zero_report_obligations(ctx)
    rows = [{**_unit_cells(ctx, v.obligation.unit, v.obligation.set), "rule": ob.RULE_LABELS[v.obligation.rule],
             "period": v.obligation.period, "due": v.obligation.due.isoformat(),
             "status": ob.STATUS_LABELS[v.status], "detail": v.detail}
            for v in _failures(obligations, activity)]
    _note_pending(ctx)
    return Table("零报送", ZERO_COLUMNS, rows)


def _monthly_reports(ctx: ReportContext, activity: ob.Activity) -> Table:
    obligations = monthly_report_obligations(ctx)
    rows = [{**_unit_cells(ctx, v.obligation.unit, v.obligation.set), "period": v.obligation.period,
             "due": v.obligation.due.isoformat(), "status": ob.STATUS_LABELS[v.status], "detail": v.detail}
            for v in _failures(obligations, activity)]
    return Table("月报", MONTHLY_REPORT_COLUMNS, rows)


def _overdue(ctx: ReportContext, activity: ob.Activity) -> Table:
    """Judged as of the period's end, or yesterday while the period runs (today is not over)."""
    cutoff = ctx.reference_day if ctx.today > ctx.reference_day else ctx.reference_day - timedelta(days=1)
    unit_sql, unit_params = ctx.unit_filter()
    last_days = {(u, s): d for u, s, d in ctx.source.rows(_LAST_RECORD_DAY_SQL % unit_sql, last=cutoff, **unit_params)}
    rows = []
    for unit, set_code in _pairs(ctx, lambda _u, _s: True):
        frequency = ctx.catalog.indicator_sets[set_code].frequency
        label, start, end = ob.last_complete_window(frequency, cutoff)
        if ob.has_update_in(activity, (unit, set_code), start, end):
            continue
        updates = [z.filed_day for z in activity.zero_filings.get((unit, set_code), []) if z.filed_day <= cutoff]
        if (unit, set_code) in last_days:
            updates.append(last_days[(unit, set_code)])
        last = max(updates, default=None)
        rows.append({**_unit_cells(ctx, unit, set_code), "frequency": frequency, "window": label,
                     "window_end": end.isoformat(), "last_update": last.isoformat() if last else None,
                     "days_overdue": (cutoff - end).days})
    return Table("指标集逾期", OVERDUE_COLUMNS, rows)


def _objections(ctx: ReportContext) -> Table:
    table = Table("异议逾期", OBJECTION_COLUMNS)
    missing = OBJECTION_NEEDS - ctx.source.columns(OBJECTION_TABLE)
    if missing:
        ctx.notes.append(f"异议逾期：异议记录尚未入库（需要 {OBJECTION_TABLE} 表的 {', '.join(sorted(missing))} 列），"
                         "本期未统计 objections are not stored yet; none reported")
        return table
    unit_sql, unit_params = ctx.unit_filter()
    now = beijing_midnight(ctx.today + timedelta(days=1))
    for objection, unit, step, due, done in ctx.source.rows(_OBJECTIONS_SQL % unit_sql, **ctx.period_params(),
                                                            now=now, **unit_params):
        due, done = _aware(due), _aware(done) if done else None
        late_by = ((done or now) - due).days
        table.rows.append({"objection": objection, "unit_name": ctx.unit_name(unit), "unit": unit, "step": step,
                           "due": _beijing(due), "done": _beijing(done) if done else None, "days_overdue": late_by})
    return table


def _beijing(moment: datetime) -> str:
    return moment.astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M")


def _note_pending(ctx: ReportContext) -> None:
    if ctx.today <= ctx.period.last_day:
        ctx.notes.append("合规：报告期尚未结束，截止日（含当日）未过的义务未判定 the period is still running; "
                         "deadlines not yet passed are not judged")
