"""信源单位考核评价: each unit graded 优/良/中/差 from four scores of 0-100 (seed 002), shown
beside the figures they come from.

  数量 volume      = 100 × sets reported / sets due. A set is due in the period when it is updated
                     at least monthly, or quarterly / yearly and the period holds the quarter's /
                     year's last month; it counts as reported with accepted records in the period or
                     a zero report covering part of the period.
  及时 timeliness  = 100 × (records on time + deadlines met) / (records with a decision date +
                     deadlines due), the deadlines being the zero reports and monthly reports of the
                     compliance report; a record is late by the unit's deadline rule (2 working days,
                     the 23rd of the next month, ...).
  质量 quality     = 100 × 入库合格率 = accepted / (accepted + rejected).
  使用 use         = approval-window checks the unit ran (逢报必查): 100 × feedback given / blacklist
                     hits once feedback is stored, 100 when it checked and nothing needed feedback.

  总分 = (30·数量 + 25·及时 + 30·质量 + 15·使用) / (sum of the weights of the scores that apply).
  A score applies only when its input exists (no set due, no submission, no check): a unit is not
  marked down for what it had no occasion to do, and the other weights carry the total.
  等级: 优 ≥ 90, 良 ≥ 75, 中 ≥ 60, 差 below 60, or when nothing applies.
"""
from __future__ import annotations

from dataclasses import dataclass

from creditstream.reports import obligations as ob
from creditstream.reports.compliance import load_activity, monthly_report_obligations, zero_report_obligations
from creditstream.reports.lists import check_figures
from creditstream.reports.model import Column, Table, share
from creditstream.reports.source import ReportContext
from creditstream.reports.unit import period_figures

TITLE = "信源单位考核评价表"
WEIGHTS = {"volume": 30, "timeliness": 25, "quality": 30, "use": 15}
GRADES = ((90, "优"), (75, "良"), (60, "中"))
LOWEST = "差"


@dataclass(frozen=True)
class EvaluationInputs:
    sets_due: int
    sets_reported: int
    dated_records: int
    late_records: int
    deadlines_due: int
    deadlines_met: int
    accepted: int
    rejected: int
    checks: int
    blacklist_hits: int
    feedback: int | None      # None: feedback is not stored


def scores(i: EvaluationInputs) -> dict[str, float | None]:
    """Each score 0-100, None where it does not apply."""
    timely_whole = i.dated_records + i.deadlines_due
    timely_part = i.dated_records - i.late_records + i.deadlines_met
    use = None
    if i.checks:
        use = 100.0 if i.feedback is None or not i.blacklist_hits else 100.0 * min(1.0, i.feedback / i.blacklist_hits)
    return {
        "volume": None if not i.sets_due else 100.0 * i.sets_reported / i.sets_due,
        "timeliness": None if not timely_whole else 100.0 * timely_part / timely_whole,
        "quality": None if not (i.accepted + i.rejected) else 100.0 * i.accepted / (i.accepted + i.rejected),
        "use": use,
    }


def total_and_grade(parts: dict[str, float | None]) -> tuple[float | None, str]:
    weight = sum(WEIGHTS[k] for k, v in parts.items() if v is not None)
    if not weight:
        return None, LOWEST
    total = sum(WEIGHTS[k] * v for k, v in parts.items() if v is not None) / weight
    total = round(total, 1)
    return total, next((grade for floor, grade in GRADES if total >= floor), LOWEST)


def set_due(frequency: str, months) -> bool:
    if frequency in ob.AT_LEAST_MONTHLY:
        return True
    if frequency == "季度":
        return any(m.month % 3 == 0 for m in months)
    return frequency == "年" and any(m.month == 12 for m in months)


COLUMNS = [
    Column("unit_name", "信源单位"), Column("unit", "单位代码"),
    Column("sets_due", "应报指标集", "int"), Column("sets_reported", "已报指标集", "int"),
    Column("accepted", "更新条数", "int"), Column("rejected", "拒收条数", "int"), Column("pass_rate", "入库合格率", "ratio"),
    Column("dated_records", "有决定日期条数", "int"), Column("late_records", "迟报条数", "int"),
    Column("deadlines_due", "到期报送义务", "int"), Column("deadlines_met", "按时履行", "int"),
    Column("checks", "核查次数", "int"), Column("blacklist_hits", "命中黑名单", "int"), Column("feedback", "黑名单反馈", "int"),
    Column("volume", "数量得分", "number"), Column("timeliness", "及时得分", "number"),
    Column("quality", "质量得分", "number"), Column("use", "使用得分", "number"),
    Column("score", "总分", "number"), Column("grade", "等级"),
]


def unit_inputs(ctx: ReportContext) -> dict[str, EvaluationInputs]:
    records, rejected = period_figures(ctx)
    activity = load_activity(ctx)
    verdicts = [ob.judge(o, activity) for o in zero_report_obligations(ctx) + monthly_report_obligations(ctx)]
    checks, has_feedback = check_figures(ctx)
    out = {}
    for unit in ctx.catalog.units.values():
        if not ctx.wants(unit.code):
            continue
        pairs = [(unit.code, s) for s in unit.indicator_sets]
        due = [p for p in pairs if set_due(ctx.catalog.indicator_sets[p[1]].frequency, ctx.period.months)]
        reported = [p for p in due if ob.has_update_in(activity, p, ctx.period.start, ctx.period.last_day)]
        own = [v for v in verdicts if v.obligation.unit == unit.code]
        c = checks.get(unit.code, {})
        out[unit.code] = EvaluationInputs(
            sets_due=len(due), sets_reported=len(reported),
            dated_records=sum(int(records[p][2]) for p in pairs if p in records),
            late_records=sum(int(records[p][1]) for p in pairs if p in records),
            deadlines_due=len(own), deadlines_met=sum(v.status == ob.ON_TIME for v in own),
            accepted=sum(int(records[p][0]) for p in pairs if p in records),
            rejected=sum(rejected.get(p, 0) for p in pairs),
            checks=c.get("checks", 0), blacklist_hits=c.get("punishment", 0),
            feedback=c.get("feedback", 0) if has_feedback else None)
    return out


def build(ctx: ReportContext) -> list[Table]:
    rows = []
    for unit, inputs in unit_inputs(ctx).items():
        parts = scores(inputs)
        total, grade = total_and_grade(parts)
        rows.append({"unit_name": ctx.unit_name(unit), "unit": unit, **inputs.__dict__,
                     "pass_rate": share(inputs.accepted, inputs.accepted + inputs.rejected),
                     **{k: None if v is None else round(v, 1) for k, v in parts.items()},
                     "score": total, "grade": grade})
    ctx.notes.append("评价公式 formula: 总分 = (30×数量 + 25×及时 + 30×质量 + 15×使用) ÷ 适用权重之和；"
                     "优 ≥ 90，良 ≥ 75，中 ≥ 60，其余为差。无数据的分项不计入。")
    return [Table("考核评价", COLUMNS, rows)]
