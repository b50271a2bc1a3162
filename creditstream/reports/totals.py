"""去重后数据总量: records counted once however many units or platforms reported them (seeds 001
and 003). The stream marks a record that repeats an earlier one (same natural record: category,
subject, decision) with `duplicate_of`, the first event id; a record and its repeats share
coalesce(duplicate_of, event_id), and the de-duplicated count is the number of distinct such ids.
Laid out like the 普查表 of seed 001: total, 自然人, 法人和其他组织. A platform exchanging records
with this one reports under its own unit code, so it is a row here like any unit."""
from __future__ import annotations

from creditstream.reports.model import Column, Table
from creditstream.reports.source import ReportContext

TITLE = "去重后数据总量统计表"

COLUMNS = [
    Column("unit_name", "信源单位/平台"), Column("unit", "代码"),
    Column("period_records", "本期报送条数", "int"), Column("period_duplicates", "其中重复条数", "int"),
    Column("period_distinct", "本期去重后条数", "int"),
    Column("cumulative_records", "累计报送条数", "int"), Column("cumulative_distinct", "累计去重后数据总量", "int"),
    Column("persons", "其中自然人", "int"), Column("organisations", "其中法人和其他组织", "int"),
]

# Grouped by unit, then once more over every unit (grouping() = 1): distinct ids do not add up.
_TOTALS_SQL = """
SELECT grouping(source_unit), source_unit,
       countIf(in_period), countIf(in_period AND duplicate_of IS NOT NULL),
       uniqExactIf(natural_id, in_period), count(), uniqExact(natural_id),
       uniqExactIf(natural_id, subject_type = 'NATURAL_PERSON'),
       uniqExactIf(natural_id, subject_type IN ('LEGAL_PERSON', 'INDIVIDUAL_BUSINESS'))
FROM
(
    SELECT source_unit, subject_type, duplicate_of, coalesce(duplicate_of, event_id) AS natural_id,
           reported_at >= {start:DateTime64(3, 'UTC')} AS in_period
    FROM {db}.records
    WHERE reported_at < {end:DateTime64(3, 'UTC')}%s
)
GROUP BY GROUPING SETS ((source_unit), ())
"""
_FIGURES = ("period_records", "period_duplicates", "period_distinct", "cumulative_records", "cumulative_distinct",
            "persons", "organisations")


def build(ctx: ReportContext) -> list[Table]:
    unit_sql, unit_params = ctx.unit_filter()
    found = ctx.source.rows(_TOTALS_SQL % unit_sql, **ctx.period_params(), **unit_params)
    by_unit, overall = {}, dict.fromkeys(_FIGURES, 0)
    for is_total, unit, *figures in found:
        values = dict(zip(_FIGURES, (int(x) for x in figures)))
        if is_total:
            overall = values
        else:
            by_unit[unit] = values
    order = [u for u in ctx.catalog.units if u in by_unit] + sorted(u for u in by_unit if u not in ctx.catalog.units)
    rows = [{"unit_name": ctx.unit_name(u), "unit": u, **by_unit[u]} for u in order]
    total = {"unit_name": "合计(跨单位去重)", **overall}
    ctx.notes.append("去重：合计行按跨单位、跨平台去重统计，不等于各行之和 the total counts a record reported by "
                     "several units once, so it is not the sum of the rows")
    return [Table("去重总量", COLUMNS, rows, total)]
