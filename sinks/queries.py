"""Read-side queries over the history; parameters only, never string-built values."""
from __future__ import annotations


def counts_per_unit(client, database: str) -> list[dict]:
    rows = client.query(
        f"""
        SELECT source_unit, sum(records) AS records, sum(rejected) AS rejected
        FROM (
            SELECT source_unit, count() AS records, 0 AS rejected FROM {database}.records GROUP BY source_unit
            UNION ALL
            SELECT source_unit, 0 AS records, count() AS rejected FROM {database}.rejections GROUP BY source_unit
        )
        GROUP BY source_unit
        ORDER BY source_unit
        """).result_rows
    return [{"source_unit": u, "records": int(r), "rejected": int(j)} for u, r, j in rows]
