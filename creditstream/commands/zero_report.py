"""`creditstream zero-report`: 零报送, a unit's "nothing new" for an indicator set and period."""
from __future__ import annotations

import getpass

import typer
from rich.console import Console

console = Console()
err = Console(stderr=True)


def register(app: typer.Typer) -> None:
    app.command("zero-report")(zero_report_command)


def zero_report_command(unit: str = typer.Option(..., "--unit", help="The reporting unit's code."),
                        catalog: str = typer.Option(..., "--catalog", help="Indicator set (指标集) code."),
                        period: str = typer.Option(..., "--period", help="2026-11 (month), 2026-W47 (week) "
                                                                           "or 2026-Q4 (quarter)."),
                        note: str = typer.Option(None, "--note", help="Remarks.")) -> None:
    """Publish a zero report to credit.zero_reports."""
    from creditstream.settings import get_settings
    from producers.credit_producer import BrokerUnreachable
    from producers.zero_report import ZeroReportProblem, publish, zero_report, zero_report_producer

    try:
        report = zero_report(unit, catalog, period, reporter=f"cli:{getpass.getuser()}", note=note, mode="BATCH")
    except ZeroReportProblem as exc:
        err.print(f"[red]error:[/red] {exc.field}: {exc}")
        raise typer.Exit(2)
    producer = zero_report_producer(get_settings().bootstrap_servers)
    try:
        producer.check_broker()
    except BrokerUnreachable as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1)
    publish(producer, report)
    if producer.flush_all() or producer.failed:
        err.print(f"[red]error:[/red] the zero report was not delivered ({dict(producer.errors)})")
        raise typer.Exit(1)
    console.print(f"zero report delivered: unit {report['source_unit']}, {report['catalog']}, period {report['period']}")
