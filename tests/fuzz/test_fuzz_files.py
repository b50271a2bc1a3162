"""The batch-file adapter fed hostile files: random bytes under every suffix, well-formed files of
hostile cells, wrong encodings, oversized fields, deeply nested JSON. No crash, no hang; every data
row becomes exactly one event (which encodes) or the file is refused with a FileProblem that
names the file."""
from __future__ import annotations

import csv
import io
import json

from hypothesis import HealthCheck, example, given, settings, strategies as st

from avro_schemas.codec import CREDIT_EVENT, codec
from producers.batch_file import FileReport, LoadOptions, read_events
from producers.file_formats import FileProblem
from producers.layouts import load_layouts
from tests.fuzz.strategies import json_values, nasty_text

UNIT = "SAMR-420200"
encode = codec(CREDIT_EVENT).encode
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                        HealthCheck.too_slow])
LAYOUTS = load_layouts()
# The headers a real file of each layout has: every column name the layout knows, first spelling.
HEADERS = {name: sorted(layout.vocabulary)[:24] for name, layout in LAYOUTS.items()}


def load(path, layout: str | None = None) -> tuple[list[dict] | None, FileReport, FileProblem | None]:
    """Read the whole file; (events, report, None) or (None, report, the problem)."""
    report = FileReport(str(path))
    try:
        events = [event for _, event in read_events(path, LoadOptions(unit=UNIT, layout=layout), report)]
    except FileProblem as problem:
        return None, report, problem
    return events, report, None


def accounted(path, events, report, problem, data_rows: int | None = None) -> None:
    if problem is not None:
        assert str(problem).startswith(str(path)), "a refusal names the file"
        assert problem.message.strip()
        return
    assert len(events) == report.rows, "every row read became one event"
    if data_rows is not None:
        assert report.rows + report.problems["empty_row_skipped"] >= data_rows
    for event in events:
        assert event["source_unit"] == UNIT and event["event_id"]
        encode(event)  # the event is what the worker's schema takes


@FUZZ
@given(data=st.binary(max_size=3000), suffix=st.sampled_from([".csv", ".json", ".jsonl", ".xlsx", ".txt"]))
@example(data=b"PK\x03\x04" + b"\x00" * 64, suffix=".xlsx")
@example(data=b"\xd0\xcf\x11\xe0" + b"\xff" * 64, suffix=".csv")
@example(data=b"[" * 50_000 + b"]" * 50_000, suffix=".json")
@example(data=b'[{"a":' * 3000 + b"1" + b"}" * 3000 + b"]", suffix=".json")
@example(data=b'[{"XK_WSH": 1' + b"0" * 5000 + b"}]", suffix=".json")
@example(data="XK_WSH,XK_XDR_SHXYM\n1,2\n".encode("utf-16"), suffix=".csv")
@example(data=b"XK_WSH,XK_XDR_SHXYM\n" + b"a" * 200_000 + b",b\n", suffix=".csv")
@example(data="统一社会信用代码,行政相对人名称\n91420200EKB845UM02,测试\n".encode("gbk") + b"\xff\xfe", suffix=".csv")
def test_random_bytes_are_read_or_refused_naming_the_file(tmp_path, data, suffix):
    path = tmp_path / f"upload{suffix}"
    path.write_bytes(data)
    accounted(path, *load(path))


def _csv(header: list[str], rows: list[list[str]], encoding: str) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding, errors="replace")


@FUZZ
@given(layout=st.sampled_from(sorted(HEADERS)), encoding=st.sampled_from(["utf-8", "utf-8-sig", "gb18030"]),
       cells=st.lists(st.lists(nasty_text, min_size=1, max_size=30), min_size=1, max_size=8))
def test_well_formed_csv_of_hostile_cells_becomes_one_event_per_row(tmp_path, layout, encoding, cells):
    header = HEADERS[layout]
    rows = [(row * len(header))[:len(header)] for row in cells]
    path = tmp_path / "upload.csv"
    path.write_bytes(_csv(header, rows, encoding))
    events, report, problem = load(path, layout=layout)
    data_rows = sum(1 for r in rows if any(v.strip() for v in r))
    accounted(path, events, report, problem, data_rows)


@FUZZ
@given(layout=st.sampled_from(sorted(HEADERS)), lines=st.booleans(),
       records=st.lists(st.dictionaries(st.one_of(st.sampled_from(sorted({k for h in HEADERS.values() for k in h})),
                                                  nasty_text), json_values, max_size=10), min_size=1, max_size=6))
def test_json_and_json_lines_of_hostile_values_are_read_or_refused(tmp_path, layout, lines, records):
    path = tmp_path / ("upload.jsonl" if lines else "upload.json")
    text = "\n".join(json.dumps(r, ensure_ascii=False) for r in records) if lines else json.dumps(records, ensure_ascii=False)
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    accounted(path, *load(path, layout=layout))


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(layout=st.sampled_from(sorted(HEADERS)),
       cells=st.lists(st.lists(st.one_of(nasty_text, st.integers(), st.floats(allow_nan=False, allow_infinity=False),
                                         st.none(), st.booleans()), min_size=1, max_size=20), min_size=1, max_size=5))
def test_excel_workbooks_of_hostile_cells_become_one_event_per_row(tmp_path, layout, cells):
    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    def cell(value):  # control characters cannot be in an Excel cell at all: the workbook never has them
        return ILLEGAL_CHARACTERS_RE.sub("", value) if isinstance(value, str) else value

    workbook = Workbook()
    sheet = workbook.active
    header = HEADERS[layout]
    sheet.append(header)
    for row in cells:
        sheet.append([cell(v) for v in (row * len(header))[:len(header)]])
    path = tmp_path / "upload.xlsx"
    workbook.save(path)
    accounted(path, *load(path, layout=layout))
