"""The batch-file adapter (批量上报): a unit's CSV, Excel or JSON file, row by row, to CreditEvents.

Every row that holds anything becomes one event, problems and all: a row with a bad or missing
identifier is not dropped here but sent on, so validation rejects it with a reason and every row
is accounted for in credit.records or credit.rejected. Only problems of the file itself (it cannot
be read, the encoding is wrong, a required column is missing) stop the load, with exit code 2.
"""
from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from producers.file_formats import FileProblem, Row, Sheet, open_table
from producers.layouts import Layout, LayoutProblem, RowMapper, header_score, layout_for_catalog, load_layouts, recognise

_HEADER_SEARCH_ROWS = 10  # title rows above the header are common in exported sheets


@dataclass
class LoadOptions:
    unit: str
    catalog: str | None = None
    layout: str | None = None
    category: str | None = None
    encoding: str | None = None
    mode: str = "BATCH"
    reported_by: str | None = None


@dataclass
class FileReport:
    """What reading one file found: rows, the layout, and problems by kind."""
    path: str
    format: str = ""
    encoding: str | None = None
    layout: str | None = None
    rows: int = 0
    problems: Counter = field(default_factory=Counter)
    last_row: str | None = None
    size: int = 0                                  # bytes, and bytes read so far (text formats) ...
    position: Callable[[], int] = lambda: 0
    sheet_rows: int | None = None                  # ... or rows of the sheet being read (Excel)


def _non_empty(rows: Iterator[Row], report: FileReport) -> Iterator[Row]:
    for ref, values in rows:
        if any(values):
            yield ref, values
        else:
            report.problems["empty_row_skipped"] += 1


def choose_layout(header: list, options: LoadOptions) -> Layout:
    layouts = load_layouts()
    if options.layout:
        if options.layout not in layouts:
            raise LayoutProblem(f"unknown layout {options.layout!r}; one of: {', '.join(sorted(layouts))}")
        return layouts[options.layout]
    claimed = layout_for_catalog(options.catalog, layouts) if options.catalog else []
    if len(claimed) == 1:
        return claimed[0]
    return recognise(header, layouts, candidates=claimed or None)


def _find_header(rows: Iterator[Row], layout: Layout | None) -> tuple[str, list, list[Row]]:
    """The header row among the first rows (a title row may sit above it). Returns the header's
    reference and values, and the rows read past it that are records."""
    seen: list[Row] = []
    for row in rows:
        seen.append(row)
        if len(seen) >= _HEADER_SEARCH_ROWS:
            break
    if not seen:
        return "", [], []
    score = (lambda values: layout.score(values)) if layout else header_score
    scores = [score([v or "" for v in values]) for _, values in seen]
    best = max(range(len(seen)), key=lambda i: (scores[i], -i))
    if scores[best] < 2:
        best = 0  # let recognition say what it could not match
    ref, header = seen[best]
    return ref, [v or "" for v in header], seen[best + 1:]


def catalog_category(catalog: str | None) -> str | None:
    """The category of an indicator set in the unit catalog, for layouts that do not imply one."""
    if not catalog:
        return None
    from creditstream.domain.catalog import load_catalog
    from creditstream.settings import get_settings

    spec = load_catalog(get_settings().worker_unit_catalog or None).indicator_sets.get(catalog)
    return spec.category if spec else None


def read_events(path: Path | str, options: LoadOptions, report: FileReport,
                reported_at_ms: int | None = None) -> Iterator[tuple[str, dict]]:
    """(row reference, CreditEvent) for every record row of the file. Raises FileProblem."""
    reported_at_ms = reported_at_ms or int(time.time() * 1000)
    path = Path(path)
    category = options.category or catalog_category(options.catalog)
    table = open_table(path, options.encoding)
    report.format, report.encoding = table.format, table.encoding
    report.size, report.position = table.size, table.position
    layout: Layout | None = None
    mappers: list[RowMapper] = []
    try:
        for sheet in table.sheets:
            rows = _non_empty(sheet.rows, report)
            report.sheet_rows = sheet.total
            try:
                header_ref, header, pending = _find_header(rows, layout)
                if not header:
                    continue  # an empty sheet
                layout = layout or choose_layout(header, options)
                mapper = RowMapper(layout, header, unit=options.unit, catalog=options.catalog,
                                   category=category if category and not layout.category else options.category, mode=options.mode, source_format=table.format,
                                   source_name=path.name, header_row=header_ref, reported_by=options.reported_by)
            except LayoutProblem as exc:
                raise FileProblem(path, _in_sheet(sheet, str(exc)), row=header_ref or None) from None
            report.layout = layout.name
            mappers.append(mapper)
            for ref, values in _chain(pending, rows):
                report.rows += 1
                report.last_row = ref
                yield ref, mapper.event(values, ref, reported_at_ms)
        if layout is None:
            raise FileProblem(path, "no header row and no records found")
    finally:
        for mapper in mappers:
            report.problems.update(mapper.problems)
        report.problems.update(table.problems)
        table.close()


def _in_sheet(sheet: Sheet, message: str) -> str:
    return f"sheet {sheet.name!r}: {message}" if sheet.name else message


def _chain(first: list[Row], rest: Iterator[Row]) -> Iterator[Row]:
    yield from first
    yield from rest


@dataclass
class LoadSummary:
    report: FileReport
    sent: int = 0
    delivered: int = 0
    failed: int = 0
    delivery_errors: Counter = field(default_factory=Counter)
    error: FileProblem | None = None
    interrupted: bool = False

    @property
    def complete(self) -> bool:
        return self.error is None and not self.interrupted and self.failed == 0 and self.delivered == self.sent


def load_file(path: Path | str, options: LoadOptions, producer, progress: Callable[[FileReport, int], None] | None = None,
              progress_every: int = 5000) -> LoadSummary:
    """Send every record row of the file through ``producer`` (a CreditProducer); flush; count.

    A file problem met part-way (a broken CSV quote at row 90 000) stops the load; the summary then
    says how many rows were sent before it. Re-loading the fixed file is safe: event ids are
    deterministic, so the rows sent twice are dropped downstream as replays."""
    report = FileReport(str(path))
    summary = LoadSummary(report)
    started = (producer.sent, producer.delivered, producer.failed)
    try:
        for n, (_, event) in enumerate(read_events(path, options, report), 1):
            producer.send(event)
            if progress and n % progress_every == 0:
                progress(report, producer.sent - started[0])
    except FileProblem as exc:
        summary.error = exc
    except KeyboardInterrupt:
        summary.interrupted = True
    finally:
        producer.flush_all()  # also on a file problem or Ctrl-C: what was sent is delivered and counted
        summary.sent = producer.sent - started[0]
        summary.delivered = producer.delivered - started[1]
        summary.failed = producer.failed - started[2]
        summary.delivery_errors = Counter(producer.errors)
    if progress:
        progress(report, summary.sent)
    return summary
