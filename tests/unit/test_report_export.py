"""Reports written as a clerk opens them: Excel read back with openpyxl, CSV with its BOM, the
JSON round trip the HTTP route and the CLI share."""
from __future__ import annotations

import csv
import io
from datetime import date

from openpyxl import load_workbook

from creditstream.reports.export import csv_text, display_width, write_csv, write_xlsx
from creditstream.reports.model import Column, Report, Table, share

COLUMNS = [Column("unit_name", "信源单位"), Column("records", "更新条数", "int"), Column("pass_rate", "入库合格率", "ratio"),
           Column("median", "时效中位数", "number"), Column("due", "截止日期", "date")]


def sample() -> Report:
    rows = [{"unit_name": "黄石市中级人民法院", "records": 12345, "pass_rate": 0.98765, "median": 1.5, "due": "2026-10-25"},
            {"unit_name": "黄石市自来水公司", "records": 0, "pass_rate": None, "median": None, "due": None}]
    units = Table("信源单位", COLUMNS, rows, {"unit_name": "合计", "records": 12345, "pass_rate": 0.98765})
    other = Table("月报", [Column("unit", "单位代码")], [{"unit": "SI-420200"}])
    return Report("unit", "信源单位数据更新情况表（2026-10）", "2026-10", "2026-11-23 10:00", [units, other],
                  ["说明一"])


def test_xlsx_has_chinese_headers_a_frozen_header_row_and_number_formats(tmp_path):
    wb = load_workbook(write_xlsx(sample(), tmp_path / "r.xlsx"))
    assert wb.sheetnames == ["信源单位", "月报", "说明"]
    ws = wb["信源单位"]
    assert [c.value for c in ws[1]] == ["信源单位", "更新条数", "入库合格率", "时效中位数", "截止日期"]
    assert ws["A1"].font.bold and ws.freeze_panes == "A2"
    assert (ws["B2"].value, ws["B2"].number_format) == (12345, "#,##0")
    assert (ws["C2"].value, ws["C2"].number_format) == (0.98765, "0.00%")
    assert (ws["D2"].value, ws["D2"].number_format) == (1.5, "#,##0.0")
    assert ws["E2"].value.date() == date(2026, 10, 25) and ws["E2"].number_format == "yyyy-mm-dd"
    assert ws["C3"].value is None and ws["E3"].value is None           # not applicable stays empty, not 0
    assert ws["A4"].value == "合计" and ws["A4"].font.bold
    assert ws.column_dimensions["A"].width == display_width("黄石市中级人民法院") + 2
    assert ws.auto_filter.ref == "A1:E3"
    assert [r[0].value for r in wb["说明"].iter_rows()] == [
        "信源单位数据更新情况表（2026-10）", "报告期 2026-10", "生成时间 2026-11-23 10:00", "说明一"]


def test_csv_is_utf8_with_bom_and_names_each_table(tmp_path):
    data = write_csv(sample(), tmp_path / "r.csv").read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    lines = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert lines[0] == ["信源单位"]
    assert lines[1] == ["信源单位", "更新条数", "入库合格率", "时效中位数", "截止日期"]
    assert lines[2] == ["黄石市中级人民法院", "12345", "98.77%", "1.5", "2026-10-25"]
    assert lines[3] == ["黄石市自来水公司", "0", "", "", ""]
    assert lines[4][0] == "合计" and lines[5] == [] and lines[6] == ["月报"]


def test_a_single_table_csv_is_just_the_table():
    report = sample()
    report.tables = report.tables[1:]
    assert csv_text(report) == "单位代码\r\nSI-420200\r\n"


def test_the_json_shape_round_trips():
    report = sample()
    again = Report.from_dict(report.to_dict())
    assert again == report and again.table("信源单位").column("pass_rate").kind == "ratio"


def test_share_is_none_when_there_is_nothing_to_divide():
    assert share(3, 4) == 0.75 and share(0, 0) is None
    assert display_width("ab中文") == 6
