"""The sink's read route for the exchange: stored records of a period, page by page. Served by the
sink process, which owns the ClickHouse data; `creditstream exchange send` asks it with the
service token. Values only as parameters."""
from __future__ import annotations

from datetime import date, datetime, timezone

from producers.layouts import CATEGORIES

PAGE_LIMIT = 5000
# What a batch needs of a record (creditstream/exchange/national.py), and the paging key.
COLUMNS = ("event_id", "source_unit", "catalog", "category", "subject_type", "subject_key", "subject_key_kind",
           "subject_name", "subject_masked", "subject_sealed", "legal_representative",
           "legal_representative_id_masked", "legal_representative_id_sealed", "document_number", "document_name",
           "authority", "authority_code", "decision_date", "valid_from", "valid_until", "decision_status",
           "matter_name", "matter_kind", "cause", "legal_basis", "content", "other_ids", "raw", "flags",
           "duplicate_of", "ingested_at")

_SQL = """
SELECT {columns}
FROM {db}.records
WHERE ingested_at >= {{since:DateTime64(3, 'UTC')}} AND ingested_at < {{until:DateTime64(3, 'UTC')}}
  AND category IN {{categories:Array(String)}}
  AND duplicate_of IS NULL AND source_unit != {{peer:String}}
  AND (ingested_at, event_id) > ({{after_at:DateTime64(3, 'UTC')}}, {{after_id:String}})
ORDER BY ingested_at, event_id
LIMIT {{limit:UInt32}}
"""


class ExchangeRequestError(ValueError):
    pass


def _instant(query: dict, name: str, default: datetime | None = None) -> datetime:
    values = query.get(name)
    if not values:
        if default is None:
            raise ExchangeRequestError(f"{name} is required: an ISO instant such as 2026-10-01T00:00:00.000Z")
        return default
    try:
        moment = datetime.fromisoformat(values[-1].replace("Z", "+00:00"))
    except ValueError:
        raise ExchangeRequestError(f"{name} is not an ISO instant: {values[-1][:40]!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def jsonable(value):
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value


def exchange_routes(client, database: str) -> dict:
    sql = _SQL.format(columns=", ".join(COLUMNS), db=database)

    def records(query: dict) -> dict:
        """GET /v1/exchange/records?since=&until=&categories=LICENCE,PENALTY&peer=CODE[&after_at=&after_id=]:
        the first records of a peer's due in [since, until), by (ingested_at, event_id); page on with
        the last row's ingested_at and event_id."""
        categories = [c for v in query.get("categories", []) for c in v.split(",") if c]
        unknown = [c for c in categories if c not in CATEGORIES]
        if not categories or unknown:
            raise ExchangeRequestError(f"categories must be among {', '.join(CATEGORIES)}")
        peer = (query.get("peer") or [""])[-1]
        if not peer:
            raise ExchangeRequestError("peer is required: records that came from it are not sent back")
        text = (query.get("limit") or [str(PAGE_LIMIT)])[-1]
        if not text.isdigit() or int(text) < 1:
            raise ExchangeRequestError("limit is a whole number of records, at least 1")
        limit = min(int(text), PAGE_LIMIT)
        params = {"since": _instant(query, "since"), "until": _instant(query, "until"), "categories": categories,
                  "peer": peer, "after_at": _instant(query, "after_at", datetime(1970, 1, 1, tzinfo=timezone.utc)),
                  "after_id": (query.get("after_id") or [""])[-1], "limit": limit}
        rows = client.query(sql, parameters=params).result_rows
        return {"records": [jsonable(dict(zip(COLUMNS, row))) for row in rows], "limit": limit}

    return {"/v1/exchange/records": records}
