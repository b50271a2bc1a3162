"""The reports over HTTP, as routes of the process that owns the ClickHouse data (the sink's query
API): GET /v1/reports/<kind>?period=2026-10[&unit=CODE] answers the report as JSON, the same
shape `Report.to_dict` gives; bad input raises ReportInputError, which the API answers with 400."""
from __future__ import annotations

from typing import Callable

from creditstream.domain.catalog import UnitCatalog, load_catalog
from creditstream.reports import REPORTS, build_report
from creditstream.reports.source import ReportSource

ROUTE_PREFIX = "/v1/reports/"


def _one(query: dict[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    return values[-1] if values else None


def report_routes(client, database: str, catalog: UnitCatalog | None = None) -> dict[str, Callable[[dict], dict]]:
    """path -> handler(parsed query string) -> JSON body, one per report kind."""
    if catalog is None:
        from creditstream.settings import get_settings
        catalog = load_catalog(get_settings().worker_unit_catalog or None)
    source = ReportSource(client, database)

    def route(kind: str):
        return lambda query: build_report(kind, source, catalog, _one(query, "period"), _one(query, "unit")).to_dict()

    return {ROUTE_PREFIX + kind: route(kind) for kind in REPORTS}
