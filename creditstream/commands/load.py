"""`creditstream load FILE --unit CODE`: a unit's batch file (批量上报) into credit.inbound."""
from __future__ import annotations

import getpass
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

console = Console()
err = Console(stderr=True)

# What each problem kind means, for the summary a clerk reads.
PROBLEM_NOTES = {
    "no_subject_id": "no USCC / ID number: sent on, validation rejects it with a reason",
    "unknown_category": "信息类别 value not known: sent as OTHER",
    "unknown_subject_type": "行政相对人类别 value not known: subject type inferred",
    "extra_cells": "more cells than header columns: the extra cells kept in raw",
    "number_cell_digits_lost": "a long number in a number cell (an ID typed as a number loses digits)",
    "empty_row_skipped": "empty row: not a record, skipped",
}

FileArg = typer.Argument(..., help="CSV (UTF-8/GBK/GB18030), XLSX/XLS, JSON or JSON lines file.")
LayoutOpt = typer.Option(None, "--layout", help="Layout name (see producers/mappings); recognised from "
                                                "the header row when not given.")
CategoryOpt = typer.Option(None, "--category", help="Category when the layout does not imply one "
                                                    "(LICENCE, PENALTY, ...).")
EncodingOpt = typer.Option(None, "--encoding", help="Text encoding; detected (UTF-8 or GBK/GB18030) when not given.")


def register(app: typer.Typer) -> None:
    app.command("load")(load)


def problems_table(problems: dict) -> Table:
    table = Table(title="problems by kind", show_edge=False)
    table.add_column("kind")
    table.add_column("rows", justify="right")
    table.add_column("what happens")
    for kind, count in sorted(problems.items()):
        table.add_row(kind, f"{count:,}", PROBLEM_NOTES.get(kind, ""))
    return table


def load(file: Path = FileArg,
         unit: str = typer.Option(..., "--unit", help="Reporting unit's code (信源单位代码)."),
         catalog: str = typer.Option(None, "--catalog", help="Indicator set (指标集) code; picks the layout "
                                                              "when a mapping claims it."),
         layout: str = LayoutOpt, category: str = CategoryOpt, encoding: str = EncodingOpt) -> None:
    """Load a batch file: every row to credit.inbound, then a summary (rows, sent, problems)."""
    from creditstream.settings import get_settings
    from producers.batch_file import LoadOptions, load_file
    from producers.credit_producer import BrokerUnreachable, CreditProducer

    settings = get_settings()
    producer = CreditProducer(settings.bootstrap_servers)
    try:
        producer.check_broker()
    except BrokerUnreachable as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1)
    options = LoadOptions(unit=unit.strip(), catalog=catalog, layout=layout, category=category, encoding=encoding,
                          reported_by=f"cli:{getpass.getuser()}")
    progress = Progress(SpinnerColumn(), TextColumn("[bold]{task.description}"), BarColumn(),
                        TextColumn("{task.fields[rows]:>10,} rows read"), TextColumn("{task.fields[sent]:>10,} sent"),
                        TimeElapsedColumn(), console=console, transient=False)
    with progress:
        task = progress.add_task(file.name, total=None, rows=0, sent=0)

        def on_progress(report, sent: int) -> None:
            total = done = None
            if report.format in ("xlsx", "xls") and report.sheet_rows:
                total, done = report.sheet_rows, min(report.rows, report.sheet_rows)
            elif report.size:
                total, done = report.size, report.position()
            progress.update(task, rows=report.rows, sent=sent, total=total, completed=done)

        summary = load_file(file, options, producer, progress=on_progress)
        progress.update(task, total=1, completed=1)
    print_summary(summary)
    if summary.error is not None:
        raise typer.Exit(2)
    if summary.interrupted:
        raise typer.Exit(130)
    if not summary.complete:
        raise typer.Exit(1)


def print_summary(summary) -> None:
    report = summary.report
    table = Table(title=f"load summary — {Path(report.path).name}", show_header=False, show_edge=False)
    table.add_column(style="bold")
    table.add_column(justify="right")
    table.add_row("format", f"{report.format}{' / ' + report.encoding if report.encoding else ''}")
    table.add_row("layout", report.layout or "—")
    table.add_row("rows", f"{report.rows:,}")
    table.add_row("sent", f"{summary.sent:,}")
    table.add_row("delivered", f"{summary.delivered:,}")
    if summary.failed:
        table.add_row("[red]not delivered[/red]", f"{summary.failed:,} ({dict(summary.delivery_errors)})")
    console.print(table)
    if report.problems:
        console.print(problems_table(report.problems))
    if summary.error is not None:
        err.print(f"[red]error:[/red] {summary.error}")
        if summary.sent:
            err.print(f"the load stopped after {summary.sent:,} rows were sent (last row {report.last_row}); "
                      "fix the file and load it again: rows already sent keep their event ids and are not doubled")
        else:
            err.print("nothing was sent")
    elif summary.interrupted:
        err.print(f"[yellow]interrupted[/yellow] after {summary.sent:,} rows were sent (last row {report.last_row}); "
                  "loading the file again is safe: rows already sent are not doubled")
    elif summary.complete:
        console.print(f"[green]all {summary.sent:,} rows delivered[/green] to credit.inbound; "
                      "validation results follow in credit.records / credit.rejected")
