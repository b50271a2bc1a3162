"""Read-side queries over the history; values only as parameters, never string-built."""
from __future__ import annotations

from datetime import date

GRANULARITIES = {"minute": ("unit_counts_minute", "minute"), "day": ("unit_counts_day", "day"),
                 "month": ("unit_counts_month", "month")}


def counts_per_unit(client, database: str) -> list[dict]:
    """Records and rejections per source unit, all time (from the per-minute view)."""
    rows = client.query(
        f"SELECT source_unit, sum(records), sum(rejected) FROM {database}.unit_counts_minute "
        "GROUP BY source_unit ORDER BY source_unit").result_rows
    return [{"source_unit": u, "records": int(r), "rejected": int(j)} for u, r, j in rows]


def unit_stats(client, database: str, granularity: str = "day", since: date | None = None,
               until: date | None = None, source_unit: str | None = None) -> list[dict]:
    """Per unit, indicator set, category and period: records, rejected, late, duplicates and
    入库合格率 (pass_rate = records / (records + rejected)). ``until`` is exclusive; day and month
    are Beijing calendar days and months."""
    table, column = GRANULARITIES[granularity]
    where = ["1"]
    params: dict = {}
    if since is not None:
        where.append(f"{column} >= {{since:Date}}")
        params["since"] = since
    if until is not None:
        where.append(f"{column} < {{until:Date}}")
        params["until"] = until
    if source_unit is not None:
        where.append("source_unit = {unit:String}")
        params["unit"] = source_unit
    rows = client.query(
        f"SELECT {column}, source_unit, catalog, category, sum(records) AS r, sum(rejected) AS j, "
        f"sum(late), sum(duplicates), if(r + j = 0, NULL, r / (r + j)) "
        f"FROM {database}.{table} WHERE {' AND '.join(where)} "
        f"GROUP BY {column}, source_unit, catalog, category ORDER BY {column}, source_unit, catalog, category",
        parameters=params).result_rows
    return [{"period": p.isoformat(), "source_unit": u, "catalog": c, "category": k, "records": int(r),
             "rejected": int(j), "late": int(lt), "duplicates": int(d),
             "pass_rate": None if rate is None else round(float(rate), 6)}
            for p, u, c, k, r, j, lt, d, rate in rows]
