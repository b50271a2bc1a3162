"""`creditstream report KIND --period 2026-10`: the seeds' statistics from the history, in the
terminal, as Excel or as CSV. Asks the sink when it runs (it owns the chdb directory), otherwise
reads ClickHouse directly."""
from __future__ import annotations

import json
import sys
import urllib.error
from pathlib import Path
from urllib.parse import urlencode

import typer
from rich.console import Console

console = Console()
err = Console(stderr=True)
FORMATS = ("table", "xlsx", "csv")
# Reports scan a period of history; far longer than the live page's 5 s.
SINK_TIMEOUT_SECONDS = 300


def register(app: typer.Typer) -> None:
    app.command("report")(report)


def _fail(message: str, code: int) -> None:
    err.print(f"[red]error:[/red] {message}")
    raise typer.Exit(code)


def report(kind: str = typer.Argument(..., help="unit, city, compliance, lists, evaluation or totals."),
           period: str = typer.Option(..., "--period", help="A month (2026-10) or a quarter (2026-Q4)."),
           unit: str = typer.Option(None, "--unit", help="Only this unit (信源单位代码)."),
           fmt: str = typer.Option("table", "--format", help="table, xlsx or csv."),
           out: Path = typer.Option(None, "--out", help="File to write; xlsx defaults to "
                                                          "creditstream-KIND-PERIOD.xlsx, csv to standard output.")) -> None:
    """Build a report (unit table, city table, compliance, lists, evaluation, de-duplicated totals)."""
    from creditstream.reports import ReportInputError, check_kind
    from creditstream.reports.period import parse_period

    if fmt not in FORMATS:
        _fail(f"unknown format {fmt!r}: one of {', '.join(FORMATS)}", 2)
    try:
        check_kind(kind)
        parse_period(period)  # refused here already, before any connection
        result = _fetch(kind, period, unit)
    except ReportInputError as exc:
        _fail(str(exc), 2)
    _write(result, fmt, out)


def _fetch(kind: str, period: str, unit: str | None):
    from creditstream.embedded.stack import SinkClient
    from creditstream.reports import ReportInputError
    from creditstream.reports.model import Report
    from creditstream.settings import get_settings

    settings = get_settings()
    sink = SinkClient(settings)
    if settings.clickhouse_url.startswith("chdb://") and sink.healthy():
        query = urlencode({k: v for k, v in (("period", period), ("unit", unit)) if v is not None})
        try:
            return Report.from_dict(sink.get(f"/v1/reports/{kind}?{query}", timeout=SINK_TIMEOUT_SECONDS))
        except urllib.error.HTTPError as exc:
            detail = _error_detail(exc)
            if exc.code == 400:
                raise ReportInputError(detail) from None
            _fail(f"the sink could not build the report ({exc.code}): {detail}", 1)
    return _build_directly(settings, kind, period, unit)


def _error_detail(exc: urllib.error.HTTPError) -> str:
    try:
        return json.loads(exc.read()).get("detail", str(exc))
    except (ValueError, OSError):
        return str(exc)


def _build_directly(settings, kind: str, period: str, unit: str | None):
    from creditstream.domain.catalog import load_catalog
    from creditstream.reports import ReportInputError, ReportSource, build_report
    from sinks.clickhouse import connect

    catalog = load_catalog(settings.worker_unit_catalog or None)
    try:
        client = connect(settings)
    except Exception as exc:
        _fail(f"cannot open ClickHouse at {settings.clickhouse_url}: {exc}", 1)
    try:
        return build_report(kind, ReportSource(client, settings.clickhouse_database), catalog, period, unit)
    except ReportInputError:
        raise
    except Exception as exc:  # no history yet (tables missing), server down ...
        _fail(f"cannot read the history in {settings.clickhouse_url} ({type(exc).__name__}): "
              f"{str(exc).splitlines()[0][:300] if str(exc) else ''}", 1)
    finally:
        client.close()


def _write(result, fmt: str, out: Path | None) -> None:
    from creditstream.reports.export import csv_text, print_report, write_csv, write_xlsx

    if fmt == "xlsx":
        path = write_xlsx(result, out or Path(f"creditstream-{result.kind}-{result.period}.xlsx"))
        console.print(f"written {path}")
    elif fmt == "csv" and out is not None:
        console.print(f"written {write_csv(result, out)}")
    elif fmt == "csv":
        sys.stdout.buffer.write(csv_text(result).encode("utf-8-sig"))
        sys.stdout.flush()
    elif out is not None:
        with out.open("w", encoding="utf-8") as f:
            print_report(result, Console(file=f, width=400, color_system=None))
        console.print(f"written {out}")
    else:
        print_report(result, console)
