"""The seeds' statistics computed from the history: one module per report kind, each a title and
a `build(ctx) -> [Table]`; `build_report` checks the input and assembles a Report."""
from __future__ import annotations

from datetime import date, datetime
from types import ModuleType

from creditstream.domain.catalog import UnitCatalog
from creditstream.domain.normalise import CHINA_TZ
from creditstream.reports import city, compliance, evaluation, lists, totals, unit
from creditstream.reports.model import Report
from creditstream.reports.period import ReportInputError, beijing_today, parse_period
from creditstream.reports.source import ReportContext, ReportSource

REPORTS: dict[str, ModuleType] = {"unit": unit, "city": city, "compliance": compliance, "lists": lists,
                                  "evaluation": evaluation, "totals": totals}

# A unit not in the catalog is still known when the history holds something it sent or asked.
_UNIT_SEEN_SQL = """
SELECT (SELECT count() FROM (SELECT 1 FROM {db}.records WHERE source_unit = {unit:String} LIMIT 1))
     + (SELECT count() FROM (SELECT 1 FROM {db}.rejections WHERE source_unit = {unit:String} LIMIT 1))
     + (SELECT count() FROM (SELECT 1 FROM {db}.checks WHERE requesting_unit = {unit:String} LIMIT 1))
"""


def check_kind(kind: str) -> ModuleType:
    module = REPORTS.get(kind)
    if module is None:
        raise ReportInputError(f"未知报表 unknown report {kind!r}: one of {', '.join(REPORTS)}")
    return module


def check_unit(source: ReportSource, catalog: UnitCatalog, code: str | None) -> str | None:
    if code is None:
        return None
    code = code.strip()
    if not code:
        raise ReportInputError("单位代码为空 the unit code is empty")
    if catalog.unit(code) is None and not (source.columns("records") and source.rows(_UNIT_SEEN_SQL, unit=code)[0][0]):
        raise ReportInputError(f"未知单位 unknown unit {code!r}: not in the unit catalog and nothing from it "
                               "in the history")
    return code


def build_report(kind: str, source: ReportSource, catalog: UnitCatalog, period: str | None,
                 unit_code: str | None = None, today: date | None = None) -> Report:
    """The report, or ReportInputError for an unknown kind or unit, an empty, malformed or future
    period. `today` (Beijing) is for tests; deadlines not yet passed by it are not judged."""
    module = check_kind(kind)
    today = today or beijing_today()
    ctx = ReportContext(source, catalog, parse_period(period, today), today,
                        check_unit(source, catalog, unit_code), datetime.now(CHINA_TZ))
    tables = module.build(ctx)
    title = f"{module.TITLE}（{ctx.period.label}）" + (f" — {ctx.unit_name(ctx.unit)}" if ctx.unit else "")
    return Report(kind, title, ctx.period.label, ctx.generated_at.strftime("%Y-%m-%d %H:%M"), tables, ctx.notes)


__all__ = ["REPORTS", "Report", "ReportInputError", "ReportSource", "build_report", "check_kind"]
