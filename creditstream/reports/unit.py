"""信源单位数据更新情况: seed 000's unit table — per source unit and indicator set, what was
reported this period, how much is in the database, how much passed validation, how late, how
often repeated, and which prohibited fields had to be dropped."""
from __future__ import annotations

from creditstream.reports.labels import data_type_label
from creditstream.reports.model import Column, Table, share
from creditstream.reports.source import ReportContext

TITLE = "信源单位数据更新情况表"

COLUMNS = [
    Column("seq", "序号", "int"),
    Column("unit_name", "信源单位"),
    Column("unit", "单位代码"),
    Column("set_name", "指标集名称"),
    Column("set", "指标集代码"),
    Column("data_type", "数据类型"),
    Column("frequency", "更新频率"),
    Column("records", "更新条数", "int"),
    Column("cumulative", "当前数据库累计数据量", "int"),
    Column("rejected", "拒收条数", "int"),
    Column("pass_rate", "入库合格率", "ratio"),
    Column("late", "迟报条数", "int"),
    Column("late_share", "迟报率", "ratio"),
    Column("median_delay", "报送时效中位数(工作日)", "number"),
    Column("duplicates", "重复条数", "int"),
    Column("prohibited", "删除禁采字段数", "int"),
    Column("prohibited_names", "禁采字段"),
]

# This period's accepted records. The late share is over records with a decision date: without
# one a record can be neither late nor on time. The median is the usual one (midpoint of the two
# middle values when their number is even).
_RECORDS_SQL = """
SELECT source_unit, catalog, count(), countIf(late), countIf(timeliness_days IS NOT NULL),
       quantileExactInclusive(0.5)(toFloat64(timeliness_days)),
       countIf(duplicate_of IS NOT NULL), sum(length(prohibited_dropped)),
       arraySort(groupUniqArrayArray(prohibited_dropped)), topK(1)(subject_type)
FROM {db}.records
WHERE reported_at >= {start:DateTime64(3, 'UTC')} AND reported_at < {end:DateTime64(3, 'UTC')}%s
GROUP BY source_unit, catalog
"""
# Rejections are dated like the per-unit counts (0007): the report time, else the rejection time.
_REJECTED_SQL = """
SELECT source_unit, catalog, count()
FROM {db}.rejections
WHERE coalesce(reported_at, rejected_at) >= {start:DateTime64(3, 'UTC')}
  AND coalesce(reported_at, rejected_at) < {end:DateTime64(3, 'UTC')} AND source_unit != ''%s
GROUP BY source_unit, catalog
"""
# 累计数据量 up to the period's end, from the monthly per-unit counts (Beijing months) rather than a
# scan of the whole history.
_CUMULATIVE_SQL = """
SELECT source_unit, catalog, sum(records)
FROM {db}.unit_counts_month
WHERE month < {end_month:Date}%s
GROUP BY source_unit, catalog
"""


def unit_pairs(ctx: ReportContext, seen: set[tuple[str, str]]) -> list[tuple[str, str]]:
    """(unit, indicator set) in catalog order, then pairs found in the history but not in the
    catalog (a unit reporting a set it was not given still shows up)."""
    pairs = [(u.code, s) for u in ctx.catalog.units.values() if ctx.wants(u.code) for s in u.indicator_sets]
    listed = set(pairs)
    return pairs + sorted(p for p in seen if p not in listed and ctx.wants(p[0]))


def period_figures(ctx: ReportContext) -> tuple[dict, dict]:
    """(unit, set) -> this period's record figures (count, late, dated, median delay, duplicates,
    prohibited count, prohibited names, top subject type); (unit, set) -> rejections."""
    unit_sql, unit_params = ctx.unit_filter()
    period = ctx.period_params()
    records = {(u, c): rest for u, c, *rest in ctx.source.rows(_RECORDS_SQL % unit_sql, **period, **unit_params)}
    rejected = {(u, c): int(n) for u, c, n in ctx.source.rows(_REJECTED_SQL % unit_sql, **period, **unit_params)}
    return records, rejected


def build(ctx: ReportContext) -> list[Table]:
    records, rejected = period_figures(ctx)
    unit_sql, unit_params = ctx.unit_filter()
    cumulative = {(u, c): n for u, c, n in ctx.source.rows(_CUMULATIVE_SQL % unit_sql, end_month=ctx.period.end,
                                                           **unit_params)}
    rows, seq, last_unit = [], 0, None
    for unit_code, set_code in unit_pairs(ctx, set(records) | set(rejected) | set(cumulative)):
        if unit_code != last_unit:
            seq, last_unit = seq + 1, unit_code
        rows.append(_row(ctx, seq, unit_code, set_code, records.get((unit_code, set_code)),
                         rejected.get((unit_code, set_code), 0), int(cumulative.get((unit_code, set_code), 0))))
    return [Table("信源单位", COLUMNS, rows, _total(rows))]


def _row(ctx: ReportContext, seq: int, unit_code: str, set_code: str, figures, rejected: int, cumulative: int) -> dict:
    spec = ctx.catalog.indicator_sets.get(set_code)
    n, late, dated, median, duplicates, prohibited, names, top_type = figures or (0, 0, 0, None, 0, 0, [], [])
    data_type = spec.data_type if spec else (top_type[0] if top_type else None)
    return {
        "seq": seq, "unit_name": ctx.unit_name(unit_code), "unit": unit_code,
        "set_name": spec.name if spec else set_code, "set": set_code,
        "data_type": data_type_label(data_type), "frequency": spec.frequency if spec else "",
        "records": int(n), "cumulative": cumulative, "rejected": rejected,
        "pass_rate": share(n, n + rejected), "late": int(late), "late_share": share(late, dated),
        "median_delay": None if median is None or dated == 0 else round(float(median), 1),
        "duplicates": int(duplicates), "prohibited": int(prohibited), "prohibited_names": "、".join(names),
    }


def _total(rows: list[dict]) -> dict:
    sums = {k: sum(r[k] for r in rows) for k in ("records", "cumulative", "rejected", "late", "duplicates",
                                                 "prohibited")}
    return {"unit_name": "合计", **sums, "pass_rate": share(sums["records"], sums["records"] + sums["rejected"])}
