"""Read routes the sink serves for the dashboards (registered in sinks/query_api.py; the sink owns
the ClickHouse data, so it runs the queries):

  GET /v1/panel?dashboard=<uid>&panel=<id>[&from=<ms>&to=<ms>&interval=<s>&unit=<code>...]
      one provisioned Grafana panel's ClickHouse queries, expanded as Grafana would, and their rows
      (&variable=<name> instead of &panel: the values of a dashboard's query variable, e.g. unit)
  GET /v1/live[?unit=<code>...]
      what the live page shows, in one answer: the same panels, over today (Beijing) or recent windows

Only the SQL in the provisioned dashboards runs; a caller chooses a panel, a time range and units
(checked against the unit-code pattern), never SQL. Both routes need the bearer token.
"""
from __future__ import annotations

import math
import threading
import time
from datetime import date, datetime, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

from dashboards import labels
from dashboards.panels import TimeRange, expand_sql, find_panel, is_clickhouse, load_dashboards

BEIJING = ZoneInfo("Asia/Shanghai")
MAX_ROWS = 5000
MAX_POINTS = 500  # about one point per pixel column of a wide panel, as Grafana sizes its interval


class BadRequest(ValueError):
    """A caller's mistake: answered 400 with this message."""


def _value(v):
    if isinstance(v, datetime):
        return int((v if v.tzinfo else v.replace(tzinfo=timezone.utc)).timestamp() * 1000)
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, Decimal):
        return float(v)
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, (list, tuple)):
        return [_value(x) for x in v]
    return v


def run_sql(client, sql: str) -> dict:
    result = client.query(sql)
    names, types = list(result.column_names), [t.name for t in result.column_types]
    if not names:  # chdb returns no header for an empty result; ClickHouse can still describe it
        described = client.query(f"DESCRIBE ({sql})").result_rows
        names, types = [r[0] for r in described], [r[1] for r in described]
    rows = [[_value(v) for v in row] for row in result.result_rows[:MAX_ROWS]]
    return {"columns": names, "types": types, "rows": rows, "truncated": len(result.result_rows) > MAX_ROWS}


def run_panel(client, database: str, panel: dict, time_range: TimeRange, units: list[str] | None = None) -> list[dict]:
    out = []
    for target in panel["targets"]:
        if is_clickhouse(target):
            sql = expand_sql(target["rawSql"], time_range, database, units)
            out.append({"refId": target["refId"], **run_sql(client, sql)})
    return out


# -- request parsing --------------------------------------------------------------------------------
def _one(query: dict, name: str) -> str | None:
    values = query.get(name)
    return values[-1] if values else None


def _int(query: dict, name: str, default: int | None = None) -> int | None:
    text = _one(query, name)
    if text is None:
        return default
    try:
        return int(text)
    except ValueError:
        raise BadRequest(f"{name} must be an integer") from None


def _units(query: dict) -> list[str] | None:
    units = query.get("unit") or None
    try:
        expand_sql("${unit:regex}", TimeRange.last(0), "db", units)
    except ValueError as exc:
        raise BadRequest(str(exc)) from None
    return units


def _variable_panel(uid: str, name: str) -> dict | None:
    """A query variable seen as a one-target panel, so that it runs like one."""
    board = load_dashboards().get(uid) or {}
    for variable in board.get("templating", {}).get("list", []):
        if variable["name"] == name and variable["type"] == "query":
            return {"title": variable["label"], "targets": [{**variable, "refId": name, "rawSql": variable["query"]}]}
    return None


def _panel_request(client, database: str, query: dict) -> dict:
    uid, panel_id, variable = _one(query, "dashboard"), _int(query, "panel"), _one(query, "variable")
    panel = _variable_panel(uid or "", variable) if variable else find_panel(uid or "", panel_id or 0)
    if panel is None:
        what = f"variable {variable!r}" if variable else f"panel {panel_id}"
        raise BadRequest(f"no {what} in dashboard {uid!r}")
    if not any(is_clickhouse(t) for t in panel["targets"]):
        raise BadRequest("not a ClickHouse panel (its queries go to Prometheus)")
    now_ms = int(time.time() * 1000)
    end_ms = _int(query, "to", now_ms)
    start_ms = _int(query, "from", end_ms - 3600_000)
    if start_ms > end_ms:
        raise BadRequest("from is after to")
    interval = _int(query, "interval", max((end_ms - start_ms) // 1000 // MAX_POINTS, 1))
    time_range = TimeRange(datetime.fromtimestamp(start_ms / 1000, timezone.utc),
                           datetime.fromtimestamp(end_ms / 1000, timezone.utc), max(interval, 1))
    return {"dashboard": uid, "panel": panel_id, "title": panel["title"],
            "targets": run_panel(client, database, panel, time_range, _units(query))}


# -- the live page's data ---------------------------------------------------------------------------
# What the page shows: (dashboard, panel, window). "today" is the Beijing calendar day so far.
LIVE_PANELS = {
    "units": ("creditstream-collection", 1, "today"),
    "throughput": ("creditstream-collection", 2, "30m"),
    "rejects": ("creditstream-collection", 4, "today"),
    "timeliness": ("creditstream-collection", 5, "1h"),
    "blacklist_size": ("creditstream-lists", 1, "today"),
    "blacklist_flow": ("creditstream-lists", 3, "24h"),
}
WINDOWS = {"30m": (1800, 60), "1h": (3600, 60), "24h": (86400, 3600)}


def live_range(window: str, now: datetime) -> TimeRange:
    if window == "today":
        midnight = now.astimezone(BEIJING).replace(hour=0, minute=0, second=0, microsecond=0)
        return TimeRange(midnight.astimezone(timezone.utc), now, 60)
    seconds, interval = WINDOWS[window]
    return TimeRange.last(seconds, interval, now)


class LiveView:
    """The live page's answer, computed at most once a second whatever the number of screens."""

    def __init__(self, client, database: str, catalog_path: str | None = None, min_age: float = 1.0):
        self.client = client
        self.database = database
        self.min_age = min_age
        if catalog_path is None:  # the catalog the workers use (CREDITSTREAM_WORKER_UNIT_CATALOG)
            from creditstream.settings import get_settings

            catalog_path = get_settings().worker_unit_catalog or None
        self.static = {"unit_names": labels.unit_names(catalog_path), "reason_labels": labels.REASONS,
                       "category_labels": labels.categories()}
        self._lock = threading.Lock()
        self._cached: dict[tuple, tuple[float, dict]] = {}

    def compute(self, units: list[str] | None) -> dict:
        now = datetime.now(timezone.utc)
        out = {"as_of": int(now.timestamp() * 1000), "windows": {}, **self.static}
        for key, (uid, panel_id, window) in LIVE_PANELS.items():
            time_range = live_range(window, now)
            (first, *_) = run_panel(self.client, self.database, find_panel(uid, panel_id), time_range, units)
            out[key] = first
            out["windows"][key] = [int(time_range.start.timestamp() * 1000), out["as_of"]]
        return out

    def __call__(self, query: dict) -> dict:
        units = _units(query)
        key = tuple(units or ())
        with self._lock:
            cached = self._cached.get(key)
            if cached is None or time.monotonic() - cached[0] >= self.min_age:
                cached = (time.monotonic(), self.compute(units))
                self._cached = {key: cached}  # one selection kept: screens usually show the same one
            return cached[1]


def live_routes(client, database: str, catalog_path: str | None = None) -> dict:
    """Path -> handler(parsed query) for the sink's query API."""
    return {"/v1/panel": lambda q: _panel_request(client, database, q),
            "/v1/live": LiveView(client, database, catalog_path)}
