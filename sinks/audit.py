"""The check audit's chain as stored, for `creditstream audit verify` (through the query API: the
sink owns the ClickHouse data). The verifier recomputes every hash itself; this only reads rows."""
from __future__ import annotations

from datetime import datetime, timezone

from creditstream.domain.audit_chain import plain
from sinks.tables import CHECK_COLUMNS

PAGE_ROWS = 5_000


class AuditRequestError(ValueError):
    pass


def _time(text: str | None, name: str) -> datetime | None:
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise AuditRequestError(f"{name} is a date or time: YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS") from None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def spans(client, database: str, start: str | None, end: str | None) -> list[dict]:
    """Per partition of credit.checks, the offsets of the checks asked in [start, end) and the hash
    of the row just before them (the anchor the first one must link to; None at the beginning)."""
    begin, until = _time(start, "from"), _time(end, "to")
    where = ["1"]
    params = {}
    if begin:
        where.append("requested_at >= {begin:DateTime64(3, 'UTC')}")
        params["begin"] = begin
    if until:
        where.append("requested_at < {until:DateTime64(3, 'UTC')}")
        params["until"] = until
    rows = client.query(f"SELECT kafka_partition, min(kafka_offset), max(kafka_offset) FROM {database}.checks "
                        f"WHERE {' AND '.join(where)} GROUP BY kafka_partition ORDER BY kafka_partition",
                        parameters=params).result_rows
    out = []
    for partition, first, last in rows:
        before = client.query(f"SELECT hash FROM {database}.checks WHERE kafka_partition = {{p:UInt16}} "
                              "AND kafka_offset < {o:UInt64} ORDER BY kafka_offset DESC LIMIT 1",
                              parameters={"p": partition, "o": first}).result_rows
        out.append({"partition": int(partition), "first_offset": int(first), "last_offset": int(last),
                    "anchor": (before[0][0] or None) if before else None, "at_beginning": not before})
    return out


def rows(client, database: str, partition: int, first: int, last: int, limit: int = PAGE_ROWS) -> list[list]:
    """Rows of one partition with first <= offset <= last in offset order: the chained values,
    then offset, prev_hash, hash."""
    found = client.query(f"SELECT {', '.join(CHECK_COLUMNS)}, kafka_offset, prev_hash, hash FROM {database}.checks "
                         "WHERE kafka_partition = {p:UInt16} AND kafka_offset BETWEEN {a:UInt64} AND {b:UInt64} "
                         "ORDER BY kafka_offset LIMIT {n:UInt32}",
                         parameters={"p": partition, "a": first, "b": last, "n": limit}).result_rows
    return [plain(list(row)) for row in found]


def audit_routes(client, database: str) -> dict:
    def one(query, name, default=None):
        values = query.get(name)
        return values[-1] if values else default

    def number(query, name, default=None) -> int:
        text = one(query, name, default)
        if text is None or not str(text).isdigit():
            raise AuditRequestError(f"{name} must be a non-negative integer")
        return int(text)

    return {
        "/v1/audit/checks/spans": lambda q: {"spans": spans(client, database, one(q, "from"), one(q, "to"))},
        "/v1/audit/checks/rows": lambda q: {"rows": rows(client, database, number(q, "partition"),
                                                         number(q, "first"), number(q, "last"),
                                                         min(number(q, "limit", PAGE_ROWS), PAGE_ROWS))},
    }
