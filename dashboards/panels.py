"""The provisioned dashboards as data: their panels, each panel's queries, and the ClickHouse SQL
expanded as Grafana's ClickHouse plugin expands it (its macros, our two variables), so that the
sink can run a panel without Grafana and the tests can run every panel against real data."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path

from dashboards.grafana_json import CLICKHOUSE, PROMETHEUS

GRAFANA_DIR = Path(__file__).resolve().parent / "grafana"
DASHBOARD_DIR = GRAFANA_DIR / "dashboards"


@lru_cache(maxsize=4)
def load_dashboards(directory: Path = DASHBOARD_DIR) -> dict[str, dict]:
    """Every dashboard file by its uid."""
    out = {}
    for path in sorted(directory.glob("*.json")):
        board = json.loads(path.read_text(encoding="utf-8"))
        out[board["uid"]] = board
    return out


def panels(board: dict) -> list[dict]:
    """The panels of a dashboard, those inside collapsed rows included."""
    out = []
    for panel in board.get("panels", []):
        out.append(panel)
        out.extend(panel.get("panels", []))
    return [p for p in out if p.get("type") != "row"]


def find_panel(uid: str, panel_id: int) -> dict | None:
    board = load_dashboards().get(uid)
    return next((p for p in panels(board) if p["id"] == panel_id), None) if board else None


def is_clickhouse(target: dict) -> bool:
    return target.get("datasource", {}).get("type") == CLICKHOUSE["type"]


def is_prometheus(target: dict) -> bool:
    return target.get("datasource", {}).get("type") == PROMETHEUS["type"]


def expected_columns(panel: dict) -> list[str]:
    """The columns a panel's query returns, in order, as its organize transformation names them."""
    for t in panel.get("transformations", []):
        if t["id"] == "organize":
            index = t["options"]["indexByName"]
            return sorted(index, key=index.get)
    return []


# -- ClickHouse SQL, as the plugin sends it ----------------------------------------------------------
@dataclass(frozen=True)
class TimeRange:
    start: datetime
    end: datetime
    interval_s: int = 60

    @classmethod
    def last(cls, seconds: int, interval_s: int = 60, now: datetime | None = None) -> "TimeRange":
        end = now or datetime.now(timezone.utc)
        return cls(datetime.fromtimestamp(end.timestamp() - seconds, timezone.utc), end, interval_s)


# A unit code as the catalog spells them (SAMR-420200); anything else is refused, so a variable
# value can never change the meaning of the SQL it is put into.
UNIT_CODE = re.compile(r"^[A-Za-z0-9_.:\-]{1,64}$")
_MACRO = re.compile(r"\$__(timeFilter|timeInterval|fromTime|toTime|interval_s)\b(?:\(([^()]*)\))?")
# Grafana's regex format escapes these characters in each value.
_REGEX_SPECIAL = re.compile(r"([\\^$*+?.()|\[\]{}/])")


def unit_regex(units: list[str] | None) -> str:
    """${unit:regex}: Grafana's value for the selection; None means All (the variable's allValue)."""
    if not units:
        return ".*"
    for unit in units:
        if not UNIT_CODE.match(unit):
            raise ValueError(f"not a unit code: {unit!r}")
    escaped = [_REGEX_SPECIAL.sub(r"\\\1", u) for u in units]
    return escaped[0] if len(escaped) == 1 else "(" + "|".join(escaped) + ")"


def expand_sql(raw: str, time_range: TimeRange, database: str, units: list[str] | None = None) -> str:
    """The plugin's macros (pkg/macros in grafana/clickhouse-datasource) and our variables."""
    start, end = int(time_range.start.timestamp()), int(time_range.end.timestamp())
    interval = max(int(time_range.interval_s), 1)

    def macro(m: re.Match) -> str:
        name, arg = m.group(1), (m.group(2) or "").strip()
        if name == "timeFilter":
            return f"{arg} >= toDateTime({start}) AND {arg} <= toDateTime({end})"
        if name == "timeInterval":
            return f"toStartOfInterval(toDateTime({arg}), INTERVAL {interval} second)"
        if name == "fromTime":
            return f"toDateTime({start})"
        if name == "toTime":
            return f"toDateTime({end})"
        return str(interval)

    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", database):
        raise ValueError(f"not a database name: {database!r}")
    text = raw.replace("${database}", database).replace("${unit:regex}", unit_regex(units))
    return _MACRO.sub(macro, text)


# -- PromQL, as Grafana sends it ---------------------------------------------------------------------
def expand_promql(expr: str, rate_interval: str = "1m") -> str:
    return expr.replace("$__rate_interval", rate_interval).replace("$__interval", rate_interval)
