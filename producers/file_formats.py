"""Reading the files units upload: CSV (UTF-8, GBK, GB18030), Excel (XLSX and the older XLS) and
JSON / JSON lines, each as sheets of rows of strings. Nothing here knows layouts or Kafka.

A problem with the file itself (unreadable, wrong encoding, broken JSON) raises FileProblem naming
the file, the row and the column, before any row of it is handed out wherever that can be known
up front, so a bad file is refused whole rather than half sent.
"""
from __future__ import annotations

import codecs
import csv
import datetime as dt
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

Row = tuple[str, list]  # (row reference a clerk can find: "12" or "Sheet2!12", values)

_CHUNK = 1 << 20
_XLSX_MAGIC = b"PK\x03\x04"
_XLS_MAGIC = b"\xd0\xcf\x11\xe0"


class FileProblem(Exception):
    """The file cannot be read as a whole; says where."""

    def __init__(self, path: Path | str, message: str, row: str | int | None = None, column: str | int | None = None):
        super().__init__(message)
        self.path, self.message, self.row, self.column = str(path), message, row, column

    def __str__(self) -> str:
        where = [self.path]
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column {self.column}")
        return f"{', '.join(where)}: {self.message}"


@dataclass
class Sheet:
    name: str | None
    rows: Iterator[Row]
    total: int | None = None  # rows in the sheet, when known before reading


@dataclass
class TableFile:
    path: Path
    format: str                     # csv, xlsx, xls, json, jsonl
    encoding: str | None
    sheets: Iterator[Sheet]
    size: int
    position: Callable[[], int] = lambda: 0  # bytes read so far, for progress (text formats)
    problems: Counter = field(default_factory=Counter)  # cell-level oddities seen while reading
    close: Callable[[], None] = lambda: None

    def __enter__(self) -> "TableFile":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# ---------------------------------------------------------------------------------------- encoding

def _first_failure(path: Path, encoding: str) -> tuple[int | None, int]:
    """Byte offset of the first undecodable byte (None if the whole file decodes), and how many
    non-ASCII characters decoded before it."""
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    offset = non_ascii = 0
    with open(path, "rb") as f:
        while True:
            chunk = f.read(_CHUNK)
            final = not chunk
            try:
                text = decoder.decode(chunk, final)
            except UnicodeDecodeError as exc:
                non_ascii += _count_non_ascii(chunk[:max(exc.start, 0)].decode(encoding, "ignore"))
                return offset + max(exc.start, 0), non_ascii
            non_ascii += _count_non_ascii(text)
            offset += len(chunk)
            if final:
                return None, non_ascii


def _count_non_ascii(text: str) -> int:
    return 0 if text.isascii() else len(text) - len(text.encode("ascii", "ignore"))


def _line_and_column(path: Path, offset: int) -> tuple[int, int]:
    with open(path, "rb") as f:
        before = f.read(offset)
    line = before.count(b"\n") + 1
    line_start = before.rfind(b"\n") + 1
    column = len(before[line_start:].decode("utf-8", "replace")) + 1
    return line, column


def detect_encoding(path: Path) -> str:
    """UTF-8 (with or without BOM) or GB18030, the superset of GBK that Chinese Excel exports use.

    UTF-8 is tried first: GBK text almost never decodes as UTF-8, while UTF-8 bytes often decode
    as GB18030 mojibake. A file that is UTF-8 for a while and then is not (a pasted GBK row, a
    corrupt byte) is refused at that spot rather than read as GB18030 garbage."""
    with open(path, "rb") as f:
        head = f.read(4)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        return "utf-16"
    utf8_at, utf8_chars = _first_failure(path, "utf-8")
    if utf8_at is None:
        return "utf-8"
    if utf8_chars < 3:  # nothing suggests UTF-8: a GBK export
        gb_at, _ = _first_failure(path, "gb18030")
        if gb_at is None:
            return "gb18030"
        utf8_at = max(utf8_at, gb_at)
    line, column = _line_and_column(path, utf8_at)
    with open(path, "rb") as f:
        f.seek(utf8_at)
        sample = f.read(4).hex(" ")
    raise FileProblem(path, f"wrong encoding: bytes {sample} cannot be read as UTF-8 or GBK/GB18030 "
                            "(save the file as UTF-8 or GBK and load it again)", row=line, column=column)


def check_encoding(path: Path, encoding: str) -> None:
    at, _ = _first_failure(path, encoding)
    if at is not None:
        line, column = _line_and_column(path, at)
        raise FileProblem(path, f"wrong encoding: not readable as {encoding}", row=line, column=column)


# --------------------------------------------------------------------------------------------- CSV

_TEXT_MARKERS = ("=", "'")


def _unmark(value: str) -> str:
    """="420202198001011234" and '420202... are how exports keep Excel from turning ids into numbers."""
    if value[0] == "=" and len(value) > 3 and value[1] == '"' and value[-1] == '"':
        return value[2:-1].strip()
    if value[0] == "'" and len(value) > 1 and value[1].isdigit():
        return value[1:]
    return value


def _delimiter(first_line: str) -> str:
    counts = {d: first_line.count(d) for d in (",", "\t", ";", "|")}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


def _csv_sheet(path: Path, encoding: str, handle) -> Sheet:
    first = handle.readline()
    handle.seek(0)
    reader = csv.reader(handle, delimiter=_delimiter(first), strict=False)

    def rows() -> Iterator[Row]:
        start = 1
        try:
            for record in reader:
                line = start
                start = reader.line_num + 1
                # Cells stay strings; an empty one is "" (the mapper reads "" and None alike).
                yield str(line), [_unmark(v) if v[:1] in _TEXT_MARKERS else v for v in map(str.strip, record)]
        except csv.Error as exc:
            raise FileProblem(path, f"CSV cannot be parsed: {exc}", row=start) from None

    return Sheet(None, rows())


# ------------------------------------------------------------------------------------------- Excel

def _excel_cell(value, problems: Counter) -> str | None:
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer():
            if abs(value) >= 1e15:  # an 18-digit ID typed into a number cell has lost its last digits
                problems["number_cell_digits_lost"] += 1
            return str(int(value))
        return repr(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if value is None:
        return None
    return str(value).strip() or None


def _excel_sheets(path: Path, problems: Counter) -> Iterator[Sheet]:
    from python_calamine import CalamineWorkbook, SheetTypeEnum, SheetVisibleEnum

    try:
        workbook = CalamineWorkbook.from_path(str(path))
    except Exception as exc:  # calamine raises its own error types for zip, xml and password problems
        raise FileProblem(path, f"not a readable Excel workbook: {type(exc).__name__}: {exc}") from None
    names = [m.name for m in workbook.sheets_metadata
             if m.typ == SheetTypeEnum.WorkSheet and m.visible == SheetVisibleEnum.Visible]
    for name in names:
        # One sheet at a time: calamine holds the sheet being read, never the whole workbook.
        try:
            sheet = workbook.get_sheet_by_name(name)
        except Exception as exc:
            raise FileProblem(path, f"sheet {name!r} cannot be read: {type(exc).__name__}: {exc}") from None
        first_row = (sheet.start or (0, 0))[0] + 1

        def rows(sheet=sheet, name=name, first_row=first_row) -> Iterator[Row]:
            for offset, values in enumerate(sheet.iter_rows()):
                yield f"{name}!{first_row + offset}", [v.strip() if type(v) is str else _excel_cell(v, problems)
                                                       for v in values]

        yield Sheet(name, rows(), total=sheet.height)


# -------------------------------------------------------------------------------------------- JSON

_RECORD_LIST_KEYS = ("data", "result", "results", "records", "rows", "list", "items")


MAX_NESTING = 16  # objects within objects; real exports nest two or three deep


class TooDeep(ValueError):
    pass


def loads(text: str):
    """json.loads that answers hostile documents with a ValueError instead of a crash: nesting
    beyond the interpreter's recursion limit, integers of thousands of digits."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        raise
    except RecursionError:
        raise TooDeep("JSON nested too deeply") from None
    except ValueError as exc:  # int() over 4300 digits
        raise ValueError(f"a number cannot be read: {str(exc).split(':')[0]}") from None


def _flatten(record: dict, prefix: str = "", out: dict | None = None, depth: int = 0) -> dict:
    """Nested objects become dotted keys (performance.unperformPart); lists and scalars strings."""
    out = {} if out is None else out
    if depth > MAX_NESTING:
        raise TooDeep(f"objects nested more than {MAX_NESTING} deep")
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            _flatten(value, name + ".", out, depth + 1)
        elif value is None:
            out[name] = None
        elif isinstance(value, str):
            out[name] = value.strip() or None
        elif isinstance(value, bool):
            out[name] = "true" if value else "false"
        elif isinstance(value, (int, float)):
            out[name] = str(value)
        else:
            try:
                out[name] = json.dumps(value, ensure_ascii=False)
            except RecursionError:
                raise TooDeep(f"the list under {name!r} is nested too deeply") from None
    return out


def find_records(document) -> list | None:
    """The list of records in a JSON document: the document itself, or the one list of objects
    under a wrapper key ({"result": [...]}, {"data": {"list": [...]}})."""
    if isinstance(document, list):
        return document
    if isinstance(document, dict):
        for key in _RECORD_LIST_KEYS:
            if key in document:
                found = find_records(document[key])
                if found is not None:
                    return found
        lists = [v for v in document.values() if isinstance(v, list) and v and all(isinstance(x, dict) for x in v)]
        if len(lists) == 1:
            return lists[0]
        if document and not any(isinstance(v, list) for v in document.values()):
            return [document]  # a single record
    return None


def records_to_sheet(path: Path | str, records: list[tuple[str, object]]) -> Sheet:
    """(row reference, object) pairs to a sheet whose header is every key, in first-seen order."""
    flat = []
    header: dict[str, None] = {}
    for ref, record in records:
        if not isinstance(record, dict):
            raise FileProblem(path, f"a record is not a JSON object but {type(record).__name__}", row=ref)
        try:
            item = _flatten(record)
        except TooDeep as exc:
            raise FileProblem(path, str(exc), row=ref) from None
        header.update(dict.fromkeys(item))
        flat.append((ref, item))
    columns = list(header)

    def rows() -> Iterator[Row]:
        yield "0", columns  # the header row, so JSON goes through the same header handling
        for ref, item in flat:
            yield ref, [item.get(c) for c in columns]

    return Sheet(None, rows(), total=len(flat) + 1)


def _json_sheet(path: Path, encoding: str, lines: bool) -> Sheet:
    text = path.read_text(encoding=encoding)
    if lines:
        records = []
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                records.append((str(number), loads(line)))
            except json.JSONDecodeError as exc:
                raise FileProblem(path, f"broken JSON line: {exc.msg}", row=number, column=exc.colno) from None
            except ValueError as exc:
                raise FileProblem(path, f"JSON line cannot be read: {exc}", row=number) from None
        return records_to_sheet(path, records)
    try:
        document = loads(text)
    except json.JSONDecodeError as exc:
        raise FileProblem(path, f"broken JSON: {exc.msg}", row=exc.lineno, column=exc.colno) from None
    except ValueError as exc:
        raise FileProblem(path, f"JSON cannot be read: {exc}") from None
    found = find_records(document)
    if found is None:
        raise FileProblem(path, "no list of records found in the JSON document")
    return records_to_sheet(path, [(str(i), r) for i, r in enumerate(found, 1)])


# ----------------------------------------------------------------------------------------- opening

def sniff_format(path: Path) -> str:
    with open(path, "rb") as f:
        head = f.read(4096)
    if head.startswith(_XLSX_MAGIC):
        return "xlsx"  # also what a renamed .xlsx saved as .csv really is
    if head.startswith(_XLS_MAGIC):
        return "xls"
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        return "jsonl"
    stripped = head.lstrip(codecs.BOM_UTF8).lstrip()
    if suffix == ".json" or stripped[:1] in (b"[", b"{"):
        first_line = stripped.split(b"\n", 1)[0].strip()
        if stripped[:1] == b"{" and first_line.endswith(b"}") and b"\n" in stripped.strip():
            return "jsonl"
        return "json"
    return "csv"


def open_table(path: Path | str, encoding: str | None = None) -> TableFile:
    path = Path(path)
    if not path.is_file():
        raise FileProblem(path, "no such file" if not path.exists() else "not a regular file")
    try:
        size = path.stat().st_size
        fmt = sniff_format(path)
    except OSError as exc:
        raise FileProblem(path, f"cannot be read: {exc.strerror}") from None
    if size == 0:
        raise FileProblem(path, "the file is empty")
    problems: Counter = Counter()
    if fmt in ("xlsx", "xls"):
        return TableFile(path, fmt, None, _excel_sheets(path, problems), size, problems=problems)
    if encoding:
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise FileProblem(path, f"unknown encoding {encoding!r}") from None
        check_encoding(path, encoding)
    else:
        encoding = detect_encoding(path)
    if fmt in ("json", "jsonl"):
        return TableFile(path, fmt, encoding, iter([_json_sheet(path, encoding, fmt == "jsonl")]), size,
                         problems=problems)
    handle = open(path, encoding=encoding, newline="")

    def position() -> int:
        return size if handle.closed else handle.buffer.tell()

    return TableFile(path, fmt, encoding, iter([_csv_sheet(path, encoding, handle)]), size,
                     position=position, problems=problems, close=handle.close)
