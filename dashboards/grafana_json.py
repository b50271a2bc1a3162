"""Grafana dashboard JSON from short Python: datasource references, targets, panels and their
layout. The dashboards are written once by `python -m dashboards` into grafana/dashboards/, where
Grafana's file provisioning reads them; a test keeps the files equal to what this code builds."""
from __future__ import annotations

from dataclasses import dataclass, field

# Fixed uids, so that the provisioned datasources and the dashboards find each other.
CLICKHOUSE = {"type": "grafana-clickhouse-datasource", "uid": "creditstream-clickhouse"}
PROMETHEUS = {"type": "prometheus", "uid": "creditstream-prometheus"}
SCHEMA_VERSION = 39

# The ClickHouse plugin's query formats (sqlds FormatQueryOption): time series rows in long form
# (time, label columns, values) are pivoted into one series per label set.
FORMAT_TIME_SERIES, FORMAT_TABLE = 0, 1


@dataclass
class Panel:
    """One panel: its title, Grafana type, size on the 24-column grid, targets and options."""
    id: int
    title: str
    type: str
    w: int
    h: int
    targets: list[dict]
    description: str = ""
    unit: str | None = None
    # The query's columns in result order -> bilingual header ("" keeps the name: a time series' time
    # and label columns, which the plugin turns into the series' timestamps and labels).
    columns: dict[str, str] = field(default_factory=dict)
    options: dict = field(default_factory=dict)
    defaults: dict = field(default_factory=dict)


def sql(raw: str, time_series: bool = False, ref: str = "A") -> dict:
    return {"datasource": CLICKHOUSE, "refId": ref, "editorType": "sql", "rawSql": raw.strip(),
            "queryType": "timeSeries" if time_series else "table",
            "format": FORMAT_TIME_SERIES if time_series else FORMAT_TABLE}


def promql(expr: str, legend: str = "", ref: str = "A") -> dict:
    return {"datasource": PROMETHEUS, "refId": ref, "expr": expr, "legendFormat": legend or "__auto",
            "range": True, "instant": False}


_OPTIONS = {
    "timeseries": {"legend": {"displayMode": "table", "placement": "right", "calcs": ["lastNotNull", "max"],
                              "showLegend": True},
                   "tooltip": {"mode": "multi", "sort": "desc"}},
    "table": {"showHeader": True, "cellHeight": "sm", "footer": {"show": False}},
    "bargauge": {"orientation": "horizontal", "displayMode": "gradient", "showUnfilled": True,
                 "reduceOptions": {"values": True, "calcs": [], "fields": ""}},
    "stat": {"colorMode": "value", "graphMode": "none", "textMode": "value_and_name", "justifyMode": "auto",
             "reduceOptions": {"values": False, "calcs": ["lastNotNull"], "fields": ""}},
    "barchart": {"orientation": "horizontal", "showValue": "auto", "legend": {"showLegend": False},
                 "xTickLabelRotation": 0},
}
_CUSTOM = {"timeseries": {"drawStyle": "line", "lineWidth": 2, "fillOpacity": 10, "showPoints": "never",
                          "spanNulls": True}}


def panel_json(p: Panel, x: int, y: int) -> dict:
    defaults = {"custom": dict(_CUSTOM.get(p.type, {})), **p.defaults}
    if p.unit:
        defaults["unit"] = p.unit
    out = {"id": p.id, "type": p.type, "title": p.title, "description": p.description,
           "gridPos": {"x": x, "y": y, "w": p.w, "h": p.h},
           "datasource": p.targets[0]["datasource"], "targets": p.targets,
           "fieldConfig": {"defaults": defaults, "overrides": []},
           "options": {**_OPTIONS.get(p.type, {}), **p.options}}
    if p.columns:
        # The columns the query returns, in order, and their bilingual headers: Grafana shows them,
        # and the panel tests check each query against this list.
        out["transformations"] = [{"id": "organize", "options": {
            "indexByName": {name: i for i, name in enumerate(p.columns)},
            "renameByName": {name: label for name, label in p.columns.items() if label}}}]
    return out


def layout(panels: list[Panel]) -> list[dict]:
    """Left to right, wrapping at 24 columns; a row is as tall as its tallest panel."""
    out, x, y, row_h = [], 0, 0, 0
    for p in panels:
        if x + p.w > 24:
            x, y, row_h = 0, y + row_h, 0
        out.append(panel_json(p, x, y))
        x += p.w
        row_h = max(row_h, p.h)
    return out


def dashboard(uid: str, title: str, description: str, panels: list[Panel], variables: list[dict],
              refresh: str = "10s", time_from: str = "now-6h", tags: tuple[str, ...] = ()) -> dict:
    ids = [p.id for p in panels]
    if len(set(ids)) != len(ids):
        raise ValueError(f"{uid}: panel ids repeat: {ids}")
    return {"uid": uid, "title": title, "description": description, "tags": ["creditstream", *tags],
            "editable": False, "graphTooltip": 1, "schemaVersion": SCHEMA_VERSION, "version": 1,
            "timezone": "browser", "refresh": refresh, "time": {"from": time_from, "to": "now"},
            "templating": {"list": variables}, "annotations": {"list": []}, "links": [],
            "panels": layout(panels)}


def constant(name: str, value: str) -> dict:
    """A hidden constant (the database name in ClickHouse queries)."""
    return {"type": "constant", "name": name, "query": value, "hide": 2,
            "current": {"text": value, "value": value}}


def unit_variable(query: str) -> dict:
    """信源单位: any number of units, or all; queries use it as ^(${unit:regex})$."""
    return {"type": "query", "name": "unit", "label": "信源单位 Unit", "datasource": CLICKHOUSE,
            "query": query, "definition": query, "refresh": 2, "sort": 1, "multi": True, "includeAll": True,
            "allValue": ".*", "current": {"text": ["All"], "value": ["$__all"]}, "options": [], "hide": 0}
