"""A report as a clerk opens it: an Excel workbook (one sheet per table, Chinese headers, header
row frozen, widths to fit, number formats), CSV in UTF-8 with a BOM (Excel reads it as UTF-8
only with one), or tables in the terminal."""
from __future__ import annotations

import csv
import io
import unicodedata
from datetime import date, datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table as RichTable

from creditstream.reports.model import Column, Report, Table

NUMBER_FORMATS = {"int": "#,##0", "ratio": "0.00%", "number": "#,##0.0", "date": "yyyy-mm-dd",
                  "datetime": "yyyy-mm-dd hh:mm"}
_MAX_WIDTH = 48
_FORBIDDEN_IN_SHEET_NAMES = str.maketrans({c: "_" for c in "[]:*?/\\"})


def cell_value(column: Column, value):
    """The typed value for a spreadsheet cell: dates as dates, ratios as fractions, None empty."""
    if value is None or value == "":
        return None
    if column.kind == "date":
        return date.fromisoformat(value) if isinstance(value, str) else value
    if column.kind == "datetime":
        return datetime.fromisoformat(value) if isinstance(value, str) else value
    if column.kind == "int":
        return int(value)
    if column.kind in ("ratio", "number"):
        return float(value)
    return value


def text_value(column: Column, value) -> str:
    """The value as text: thousands separators, ratios as percentages, empty for None."""
    if value is None or value == "":
        return ""
    if column.kind == "int":
        return f"{int(value):,}"
    if column.kind == "ratio":
        return f"{float(value):.2%}"
    if column.kind == "number":
        return f"{float(value):,.1f}"
    return str(value)


def display_width(text: str) -> int:
    """Columns a text takes on screen: CJK characters are two wide."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _all_rows(table: Table) -> list[dict]:
    return table.rows + ([table.total] if table.total else [])


# -- Excel -------------------------------------------------------------------------------------
def write_xlsx(report: Report, path: str | Path) -> Path:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
    from openpyxl.utils import get_column_letter

    bold = Font(bold=True)
    header_fill = PatternFill("solid", fgColor="DDEBF7")
    thin = Side(style="thin", color="999999")
    header_border = Border(bottom=thin)
    wb = Workbook()
    wb.remove(wb.active)
    wb.properties.title = report.title
    for table in report.tables:
        ws = wb.create_sheet(table.name.translate(_FORBIDDEN_IN_SHEET_NAMES)[:31])
        ws.append([c.header for c in table.columns])
        for cell in ws[1]:
            cell.font, cell.fill, cell.border = bold, header_fill, header_border
            cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        for row in _all_rows(table):
            ws.append([cell_value(c, row.get(c.key)) for c in table.columns])
            for c, cell in zip(table.columns, ws[ws.max_row]):
                if c.kind in NUMBER_FORMATS:
                    cell.number_format = NUMBER_FORMATS[c.kind]
                if row is table.total:
                    cell.font = bold
        ws.freeze_panes = "A2"
        if table.rows:
            ws.auto_filter.ref = f"A1:{get_column_letter(len(table.columns))}{len(table.rows) + 1}"
        for i, column in enumerate(table.columns, start=1):
            widest = max([display_width(column.header)]
                         + [display_width(text_value(column, r.get(column.key))) for r in _all_rows(table)])
            ws.column_dimensions[get_column_letter(i)].width = min(_MAX_WIDTH, widest + 2)
    notes = wb.create_sheet("说明")
    for line in [report.title, f"报告期 {report.period}", f"生成时间 {report.generated_at}", *report.notes]:
        notes.append([line])
    notes.column_dimensions["A"].width = 100
    path = Path(path)
    wb.save(path)
    return path


# -- CSV ---------------------------------------------------------------------------------------
def csv_text(report: Report) -> str:
    """One table: its header and rows. Several: each under a line with its name, a blank line
    between them."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for i, table in enumerate(report.tables):
        if len(report.tables) > 1:
            if i:
                writer.writerow([])
            writer.writerow([table.name])
        writer.writerow([c.header for c in table.columns])
        for row in _all_rows(table):
            writer.writerow([_csv_value(c, row.get(c.key)) for c in table.columns])
    return out.getvalue()


def _csv_value(column: Column, value) -> str:
    # Plain digits for counts (a thousands separator would make Excel read text); % for ratios,
    # which Excel reads back as numbers.
    if value is None or value == "":
        return ""
    if column.kind == "int":
        return str(int(value))
    if column.kind == "number":
        return f"{float(value):.1f}"
    return text_value(column, value)


def write_csv(report: Report, path: str | Path) -> Path:
    path = Path(path)
    path.write_text(csv_text(report), encoding="utf-8-sig", newline="")
    return path


# -- terminal ----------------------------------------------------------------------------------
def print_report(report: Report, console: Console) -> None:
    console.print(f"[bold]{report.title}[/bold]  生成时间 {report.generated_at}")
    for table in report.tables:
        rich_table = RichTable(title=table.name, title_justify="left", show_lines=False)
        for c in table.columns:
            rich_table.add_column(c.header, justify="right" if c.kind in ("int", "ratio", "number") else "left")
        for row in table.rows:
            rich_table.add_row(*[text_value(c, row.get(c.key)) for c in table.columns])
        if table.total:
            rich_table.add_section()
            rich_table.add_row(*[text_value(c, table.total.get(c.key)) for c in table.columns], style="bold")
        if not table.rows:
            rich_table.caption = "（无）"
        console.print(rich_table)
    for note in report.notes:
        console.print(f"[dim]注：{note}[/dim]")
