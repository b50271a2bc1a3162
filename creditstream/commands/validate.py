"""`creditstream validate FILE`: the stream's validation of a file, row by row, sending nothing,
so a unit's clerk can check a file before reporting it."""
from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape

from creditstream.commands.load import CategoryOpt, EncodingOpt, FileArg, LayoutOpt, problems_table

console = Console()
err = Console(stderr=True)


def register(app: typer.Typer) -> None:
    app.command("validate")(validate)


def validate(file: Path = FileArg,
             unit: str = typer.Option("VALIDATE", "--unit", help="Unit code the rows would be reported under."),
             catalog: str = typer.Option(None, "--catalog", help="Indicator set (指标集) code."),
             layout: str = LayoutOpt, category: str = CategoryOpt, encoding: str = EncodingOpt,
             as_json: bool = typer.Option(False, "--json", help="One JSON object per row on stdout."),
             rejected_only: bool = typer.Option(False, "--rejected-only", help="Show only the rejected rows.")) -> None:
    """Validate a file without sending it. Exit 0: all rows pass; 1: some rejected; 2: unreadable."""
    from producers.batch_file import FileReport, LoadOptions, read_events
    from producers.file_formats import FileProblem
    from producers.verdict import verdict

    options = LoadOptions(unit=unit, catalog=catalog, layout=layout, category=category, encoding=encoding)
    report = FileReport(str(file))
    counts: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    try:
        for ref, event in read_events(file, options, report):
            result = verdict(event)
            counts[result["status"]] += 1
            reasons.update(r["code"] for r in result["reasons"])
            if rejected_only and result["status"] == "accepted":
                continue
            if as_json:
                sys.stdout.write(json.dumps({"row": ref, "status": result["status"], "reasons": result["reasons"],
                                             "subject": result["subject"], "event_id": event["event_id"]},
                                            ensure_ascii=False) + "\n")
            else:
                _print_row(ref, result)
    except FileProblem as exc:
        if as_json:
            sys.stdout.flush()
        err.print(f"[red]error:[/red] {escape(str(exc))}")
        raise typer.Exit(2)
    if not as_json:
        console.print(f"\n{file.name}: layout {report.layout}, {report.rows:,} rows: "
                      f"[green]{counts['accepted']:,} accepted[/green], "
                      f"[red]{counts['rejected']:,} rejected[/red]")
        for code, n in reasons.most_common():
            console.print(f"  {code}: {n:,}")
        if report.problems:
            console.print(problems_table(report.problems))
    raise typer.Exit(1 if counts["rejected"] else 0)


def _print_row(ref: str, result: dict) -> None:
    subject = result["subject"] or "—"
    if result["status"] == "accepted":
        console.print(f"row {escape(ref)}  [green]accepted[/green]  {escape(subject)}")
        return
    console.print(f"row {escape(ref)}  [red]rejected[/red]  {escape(subject)}")
    for reason in result["reasons"]:
        console.print(f"    {reason['code']}  {escape(reason['field'])}  {escape(reason['message'])}")
