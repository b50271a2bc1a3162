"""市级数据报送统计: seed 000's city tables — per city, the utility and social records (water,
power, gas, heating, property, 公积金, social insurance) per month, and the 双公示 records split
into 行政许可, 行政处罚 and other."""
from __future__ import annotations

from collections import defaultdict

from creditstream.reports.labels import city_label, city_of
from creditstream.reports.model import Column, Table
from creditstream.reports.source import ReportContext

TITLE = "市级信用数据报送统计表"

# Utility kinds, by the words that name them in an indicator set or a record's 事项名称. Order
# matters: 公积金 and 社会保险 before the single-utility words.
UTILITY_KINDS: list[tuple[str, str, tuple[str, ...]]] = [
    ("housing_fund", "缴纳公积金记录", ("公积金",)),
    ("social_insurance", "缴纳五险记录", ("社会保险", "社保", "五险", "养老保险", "医疗保险", "失业保险", "工伤保险", "生育保险")),
    ("water", "自来水缴费记录", ("自来水", "水费", "供水", "用水")),
    ("power", "用电缴费记录", ("电费", "用电", "供电", "电力")),
    ("gas", "燃气缴费记录", ("燃气", "煤气", "天然气", "气费", "用气", "供气")),
    ("heating", "供热缴费记录", ("供热", "供暖", "采暖", "暖气", "热费")),
    ("property", "房产物业记录", ("物业", "房产", "产权")),
]
# An indicator set that covers several utilities at once; each record's 事项名称 then decides.
_SEVERAL_UTILITIES = ("公用事业",)
OTHER_UTILITY = "other"


def utility_kinds_named(text: str | None) -> list[str]:
    """The utility kinds a name mentions, in UTILITY_KINDS order."""
    text = text or ""
    return [kind for kind, _label, words in UTILITY_KINDS if any(w in text for w in words)]


def utility_sets(ctx: ReportContext) -> dict[str, str | None]:
    """Indicator set -> its one utility kind, or None when its records must be told apart one by one."""
    found: dict[str, str | None] = {}
    for spec in ctx.catalog.indicator_sets.values():
        kinds = utility_kinds_named(spec.name)
        if any(w in spec.name for w in _SEVERAL_UTILITIES) or len(kinds) > 1:
            found[spec.code] = None
        elif kinds:
            found[spec.code] = kinds[0]
    return found


def record_utility_kind(set_kind: str | None, matter_name: str | None) -> str:
    if set_kind is not None:
        return set_kind
    kinds = utility_kinds_named(matter_name)
    return kinds[0] if kinds else OTHER_UTILITY


UTILITY_COLUMNS = ([Column("city", "城市"), Column("city_code", "行政区划代码"), Column("month", "月份")]
                   + [Column(kind, label, "int") for kind, label, _ in UTILITY_KINDS]
                   + [Column(OTHER_UTILITY, "其他公用事业记录", "int"), Column("total", "合计", "int")])
PUBLICITY_COLUMNS = [Column("city", "城市"), Column("city_code", "行政区划代码"), Column("penalty", "行政处罚", "int"),
                     Column("licence", "行政许可", "int"), Column("other", "其他权利", "int"),
                     Column("total", "数据总量", "int")]

# A record's city is its subject's division (from the USCC or ID number) when known, else the
# reporting unit's region from the catalog (folded in Python: the catalog is not in ClickHouse).
_UTILITY_SQL = """
SELECT region_code, source_unit, catalog, formatDateTime(toStartOfMonth(reported_at, 'Asia/Shanghai'), '%%Y-%%m'),
       matter_name, count()
FROM {db}.records
WHERE reported_at >= {start:DateTime64(3, 'UTC')} AND reported_at < {end:DateTime64(3, 'UTC')}
  AND catalog IN {sets:Array(String)}%s
GROUP BY region_code, source_unit, catalog, 4, matter_name
"""
# 双公示: licences and penalties, and whatever else an indicator set named 双公示 carries.
_PUBLICITY_SQL = """
SELECT region_code, source_unit, category, count()
FROM {db}.records
WHERE reported_at >= {start:DateTime64(3, 'UTC')} AND reported_at < {end:DateTime64(3, 'UTC')}
  AND (category IN ('LICENCE', 'PENALTY') OR catalog IN {publicity_sets:Array(String)})%s
GROUP BY region_code, source_unit, category
"""


def _city(ctx: ReportContext, region_code: str | None, unit_code: str) -> str | None:
    unit = ctx.catalog.unit(unit_code)
    return city_of(region_code) or city_of(unit.region if unit else None)


def build(ctx: ReportContext) -> list[Table]:
    return [_utilities(ctx), _publicity(ctx)]


def _utilities(ctx: ReportContext) -> Table:
    sets = utility_sets(ctx)
    unit_sql, unit_params = ctx.unit_filter()
    counts: dict[tuple[str | None, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for region, unit_code, set_code, month, matter, n in ctx.source.rows(
            _UTILITY_SQL % unit_sql, sets=sorted(sets), **ctx.period_params(), **unit_params):
        counts[(_city(ctx, region, unit_code), month)][record_utility_kind(sets.get(set_code), matter)] += int(n)
    kinds = [c.key for c in UTILITY_COLUMNS[3:-1]]
    rows = []
    for (city, month), by_kind in sorted(counts.items(), key=lambda item: (item[0][0] or "999999", item[0][1])):
        row = {"city": city_label(city), "city_code": city or "", "month": month}
        row.update({k: by_kind.get(k, 0) for k in kinds})
        row["total"] = sum(row[k] for k in kinds)
        rows.append(row)
    total = {"city": "合计", **{k: sum(r[k] for r in rows) for k in kinds + ["total"]}}
    return Table("公用事业与社保", UTILITY_COLUMNS, rows, total)


def _publicity(ctx: ReportContext) -> Table:
    publicity_sets = sorted(s.code for s in ctx.catalog.indicator_sets.values() if "双公示" in s.name)
    unit_sql, unit_params = ctx.unit_filter()
    counts: dict[str | None, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for region, unit_code, category, n in ctx.source.rows(
            _PUBLICITY_SQL % unit_sql, publicity_sets=publicity_sets, **ctx.period_params(), **unit_params):
        kind = {"LICENCE": "licence", "PENALTY": "penalty"}.get(category, "other")
        counts[_city(ctx, region, unit_code)][kind] += int(n)
    rows = []
    for city, by_kind in sorted(counts.items(), key=lambda item: item[0] or "999999"):
        row = {"city": city_label(city), "city_code": city or "",
               **{k: by_kind.get(k, 0) for k in ("penalty", "licence", "other")}}
        row["total"] = row["penalty"] + row["licence"] + row["other"]
        rows.append(row)
    total = {"city": "合计", **{k: sum(r[k] for r in rows) for k in ("penalty", "licence", "other", "total")}}
    return Table("双公示", PUBLICITY_COLUMNS, rows, total)
