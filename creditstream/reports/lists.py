"""红黑名单与联合奖惩: red and black list sizes at the period's start and end and the flows
between (entered, left, of which by credit repair), and the approval-window checks per
requesting unit: joint punishment cases (a check that hit an active blacklist entry), joint
incentive cases (an active red list entry) and the feedback (黑名单反馈) the windows gave."""
from __future__ import annotations

from creditstream.domain.categories import BLACKLIST_CATEGORIES
from creditstream.reports.labels import list_label
from creditstream.reports.model import Column, Table, share
from creditstream.reports.source import ReportContext

TITLE = "红黑名单与联合奖惩情况表"
ALL_LISTS = "*"
RED_HISTORY = "redlist_history"
FEEDBACK_TABLE = "check_feedback"
FEEDBACK_NEEDS = {"check_id", "outcome"}

SIZE_COLUMNS = [Column("list", "名单"), Column("at_start", "期初主体数", "int"), Column("entered", "本期列入", "int"),
                Column("left", "本期移出", "int"), Column("repaired", "其中信用修复", "int"),
                Column("at_end", "期末主体数", "int"), Column("suspended", "期末异议暂停公示", "int")]
CHECK_COLUMNS = [Column("unit_name", "核查单位"), Column("unit", "单位代码"), Column("checks", "核查次数", "int"),
                 Column("subjects", "核查主体数", "int"), Column("punishment", "联合惩戒案例(命中黑名单)", "int"),
                 Column("incentive", "联合激励案例(命中红名单)", "int"), Column("suspended", "命中异议暂停", "int"),
                 Column("name_only", "仅按名称匹配", "int"), Column("feedback", "黑名单反馈数", "int"),
                 Column("feedback_rate", "反馈率", "ratio"), Column("feedback_detail", "反馈结果")]

# Each subject's state before the period and at its end, from its latest change (offsets order
# one subject's changes: they share a partition). A final entry that ended the subject's listing
# carries no lists, and a tombstone none either; so membership is "the list is in `lists`".
# ALL_LISTS stands for "on any list" (distinct subjects).
_LIST_SIZES_SQL = """
SELECT list, countIf(was_on), countIf(is_on), countIf(is_on AND end_status = 'SUSPENDED')
FROM
(
    SELECT list, end_status,
           if(list = '*', notEmpty(l0), has(l0, list)) AS was_on, if(list = '*', notEmpty(l1), has(l1, list)) AS is_on
    FROM
    (
        SELECT subject_key,
               if(countIf(changed_at < {start:DateTime64(3, 'UTC')}) > 0
                      AND toString(argMaxIf(change, kafka_offset, changed_at < {start:DateTime64(3, 'UTC')})) = 'UPSERT',
                  argMaxIf(lists, kafka_offset, changed_at < {start:DateTime64(3, 'UTC')}), []) AS l0,
               if(toString(argMax(change, kafka_offset)) = 'UPSERT', argMax(lists, kafka_offset), []) AS l1,
               toString(argMax(status, kafka_offset)) AS end_status
        FROM {db}.%s
        WHERE changed_at < {end:DateTime64(3, 'UTC')}
        GROUP BY subject_key
    )
    ARRAY JOIN arrayConcat(arrayDistinct(arrayConcat(l0, l1)), ['*']) AS list
)
GROUP BY list
"""
# Flows are the changes in the period that put a subject on a list or took it off, each compared
# with the subject's change before it: a subject listed and repaired within the period counts once
# in each. The change that ends a listing carries why (REPAIRED for credit repair).
_LIST_FLOWS_SQL = """
SELECT list, countIf(is_on AND NOT was_on), countIf(was_on AND NOT is_on),
       countIf(was_on AND NOT is_on AND status = 'REPAIRED')
FROM
(
    SELECT list, status,
           if(list = '*', notEmpty(prev), has(prev, list)) AS was_on, if(list = '*', notEmpty(cur), has(cur, list)) AS is_on
    FROM
    (
        SELECT changed_at, toString(status) AS status, cur,
               lagInFrame(cur) OVER (PARTITION BY subject_key ORDER BY kafka_offset
                                     ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS prev
        FROM (SELECT subject_key, kafka_offset, changed_at, status, if(change = 'UPSERT', lists, []) AS cur
              FROM {db}.%s WHERE changed_at < {end:DateTime64(3, 'UTC')})
    )
    ARRAY JOIN arrayConcat(arrayDistinct(arrayConcat(prev, cur)), ['*']) AS list
    WHERE changed_at >= {start:DateTime64(3, 'UTC')}
)
GROUP BY list
"""
# Without a red list history (credit.redlist not stored), the red list is read from its basis
# records: a RED_LIST record counts from its report until its validity ends, unless revoked.
# Repairs and deregistrations are not seen this way; the report says so.
_RED_FROM_RECORDS_SQL = """
SELECT countIf(on0), countIf(on1 AND NOT on0), countIf(on0 AND NOT on1), 0, countIf(on1), 0
FROM
(
    SELECT subject_key,
           max(reported_at < {start:DateTime64(3, 'UTC')} AND ifNull(valid_until >= {start_day:Date32}, 1)) AS on0,
           max(ifNull(valid_until >= {end_day:Date32}, 1)) AS on1
    FROM {db}.records
    WHERE category = 'RED_LIST' AND reported_at < {end:DateTime64(3, 'UTC')}
      AND ifNull(decision_status, '正常') NOT IN ('撤销', '删除')
    GROUP BY subject_key
)
"""
_CHECKS_SQL = """
SELECT requesting_unit, count(), uniqExact(subject_key),
       countIf(arrayExists((l, s) -> has({black:Array(String)}, l) AND s = 'ACTIVE', hit_lists, hit_statuses)),
       countIf(arrayExists((l, s) -> l = 'RED_LIST' AND s = 'ACTIVE', hit_lists, hit_statuses)),
       countIf(has(hit_statuses, 'SUSPENDED')), countIf(match = 'NAME')
FROM {db}.checks
WHERE requested_at >= {start:DateTime64(3, 'UTC')} AND requested_at < {end:DateTime64(3, 'UTC')}%s
GROUP BY requesting_unit
ORDER BY requesting_unit
"""
# Feedback (issue 8: POST /v1/checks/{id}/feedback) counted by the time of the check it answers.
_FEEDBACK_SQL = """
SELECT c.requesting_unit, toString(f.outcome), uniqExact(f.check_id)
FROM {db}.check_feedback AS f
INNER JOIN {db}.checks AS c ON c.check_id = f.check_id
WHERE c.requested_at >= {start:DateTime64(3, 'UTC')} AND c.requested_at < {end:DateTime64(3, 'UTC')}%s
GROUP BY c.requesting_unit, f.outcome
"""


def build(ctx: ReportContext) -> list[Table]:
    return [_sizes(ctx), checks_table(ctx)]


def _flows(ctx: ReportContext, table: str) -> dict[str, tuple]:
    """list -> (at start, entered, left, of which repaired, at end, suspended at end)."""
    sizes = {lst: rest for lst, *rest in ctx.source.rows(_LIST_SIZES_SQL % table, **ctx.period_params())}
    flows = {lst: rest for lst, *rest in ctx.source.rows(_LIST_FLOWS_SQL % table, **ctx.period_params())}
    out = {}
    for lst in set(sizes) | set(flows):
        at_start, at_end, suspended = sizes.get(lst, (0, 0, 0))
        entered, left, repaired = flows.get(lst, (0, 0, 0))
        out[lst] = tuple(int(x) for x in (at_start, entered, left, repaired, at_end, suspended))
    return out


def _sizes(ctx: ReportContext) -> Table:
    black = _flows(ctx, "blacklist_history")
    rows = [_size_row(list_label(c), black.get(c)) for c in sorted(BLACKLIST_CATEGORIES)]
    rows.append(_size_row("黑名单合计(去重主体)", black.get(ALL_LISTS)))
    if ctx.source.columns(RED_HISTORY):
        red = _flows(ctx, RED_HISTORY).get(ALL_LISTS)
    else:
        red = ctx.source.rows(_RED_FROM_RECORDS_SQL, **ctx.period_params(), start_day=ctx.period.start,
                              end_day=ctx.reference_day)[0]
        ctx.notes.append("红名单：红名单变更历史尚未入库，按红名单依据记录（有效期内、未撤销）统计，信用修复和注销不计 "
                         "the red list is counted from its basis records: its change history is not stored")
    rows.append(_size_row("红名单", red))
    if ctx.unit:
        ctx.notes.append("名单规模为全部单位的合计，不按 --unit 筛选 list sizes are for every unit")
    return Table("名单规模与流动", SIZE_COLUMNS, rows)


def _size_row(label: str, figures: tuple | None) -> dict:
    at_start, entered, left, repaired, at_end, suspended = figures or (0, 0, 0, 0, 0, 0)
    return {"list": label, "at_start": int(at_start), "entered": int(entered), "left": int(left),
            "repaired": int(repaired), "at_end": int(at_end), "suspended": int(suspended)}


def check_figures(ctx: ReportContext) -> tuple[dict[str, dict], bool]:
    """Per requesting unit: checks, subjects, black and red hits, feedback; and whether feedback
    is stored at all."""
    unit_sql, unit_params = ctx.unit_filter("requesting_unit")
    figures = {}
    for unit, checks, subjects, black, red, suspended, by_name in ctx.source.rows(
            _CHECKS_SQL % unit_sql, black=sorted(BLACKLIST_CATEGORIES), **ctx.period_params(), **unit_params):
        figures[unit] = {"checks": int(checks), "subjects": int(subjects), "punishment": int(black),
                         "incentive": int(red), "suspended": int(suspended), "name_only": int(by_name),
                         "feedback": 0, "outcomes": {}}
    has_feedback = not FEEDBACK_NEEDS - ctx.source.columns(FEEDBACK_TABLE)
    if has_feedback:
        unit_sql, unit_params = ctx.unit_filter("c.requesting_unit")
        for unit, outcome, n in ctx.source.rows(_FEEDBACK_SQL % unit_sql, **ctx.period_params(), **unit_params):
            if unit in figures:
                figures[unit]["feedback"] += int(n)
                figures[unit]["outcomes"][outcome] = int(n)
    return figures, has_feedback


def checks_table(ctx: ReportContext) -> Table:
    figures, has_feedback = check_figures(ctx)
    if not has_feedback:
        ctx.notes.append("黑名单反馈：反馈记录尚未入库，反馈数为空 feedback on checks is not stored yet")
    rows = []
    for unit, f in figures.items():
        rows.append({"unit_name": ctx.unit_name(unit), "unit": unit,
                     **{k: f[k] for k in ("checks", "subjects", "punishment", "incentive", "suspended", "name_only")},
                     "feedback": f["feedback"] if has_feedback else None,
                     "feedback_rate": share(f["feedback"], f["punishment"]) if has_feedback else None,
                     "feedback_detail": "；".join(f"{k} {v}" for k, v in sorted(f["outcomes"].items()))})
    # Subjects are not summed: one subject checked by two units is one subject.
    keys = ("checks", "punishment", "incentive", "suspended", "name_only")
    total = {"unit_name": "合计", **{k: sum(r[k] for r in rows) for k in keys}}
    return Table("核查与反馈", CHECK_COLUMNS, rows, total)
