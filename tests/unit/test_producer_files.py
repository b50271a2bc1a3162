"""Reading files as units send them: encodings, Excel workbooks, JSON shapes, and bad files."""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import openpyxl
import pytest

from producers.batch_file import FileReport, LoadOptions, read_events
from producers.file_formats import FileProblem, detect_encoding, find_records, open_table

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "adapters"
KEY_HEADER = "事项名称,企业法定名称,统一社会信用代码,事由,决定文书号,决定机关,决定时间,决定有效期,信息类别"
KEY_ROW = "行政处罚,黄石恒达商贸有限公司,91420200EKB845UM02,无证经营,黄市监罚〔2024〕{n}号,黄石市市场监督管理局,2024-06-04,2025-06-03,行政处罚"


def read_all(path: Path, **options) -> tuple[FileReport, list[tuple[str, dict]]]:
    report = FileReport(str(path))
    return report, list(read_events(path, LoadOptions(unit="UNIT-1", **options), report))


def key_rows(n: int) -> list[str]:
    return [KEY_HEADER] + [KEY_ROW.format(n=i) for i in range(1, n + 1)]


@pytest.mark.parametrize("encoding, expected", [("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("gbk", "gb18030"),
                                                ("gb18030", "gb18030")])
def test_encoding_is_detected_and_every_encoding_reads_the_same_values(tmp_path, encoding, expected):
    path = tmp_path / f"sheet-{encoding}.csv"
    path.write_bytes("\r\n".join(key_rows(3)).encode(encoding))
    assert detect_encoding(path) == expected
    report, rows = read_all(path)
    assert [e["subject"]["name"] for _, e in rows] == ["黄石恒达商贸有限公司"] * 3
    assert report.encoding == expected


def test_a_gb18030_only_character_is_read(tmp_path):
    path = tmp_path / "rare.csv"
    lines = key_rows(1)
    lines[1] = lines[1].replace("黄石恒达商贸有限公司", "黄石𠀀商贸有限公司")  # outside GBK, inside GB18030
    path.write_bytes("\n".join(lines).encode("gb18030"))
    _, rows = read_all(path)
    assert rows[0][1]["subject"]["name"] == "黄石𠀀商贸有限公司"


def test_a_utf8_file_with_a_gbk_row_pasted_in_is_refused_at_that_row_before_anything_is_read(tmp_path):
    path = tmp_path / "mixed.csv"
    good = "\n".join(key_rows(4)).encode("utf-8")
    bad = ("\n" + KEY_ROW.format(n=99)).encode("gbk")
    path.write_bytes(good + bad + b"\n")
    with pytest.raises(FileProblem) as caught:
        open_table(path)
    problem = caught.value
    assert problem.row == 6 and problem.column == 1 and "wrong encoding" in problem.message
    assert str(problem).startswith(f"{path}, row 6, column 1: wrong encoding")


def test_a_declared_encoding_that_does_not_fit_is_refused_with_its_position(tmp_path):
    path = tmp_path / "declared.csv"
    path.write_bytes("\n".join(key_rows(2)).encode("gbk"))
    with pytest.raises(FileProblem, match="not readable as utf-8") as caught:
        read_all(path, encoding="utf-8")
    assert caught.value.row == 1


def test_excel_kept_ids_and_title_rows_above_the_header(tmp_path):
    path = tmp_path / "export.csv"
    lines = ["黄石市市场监督管理局行政处罚信息公示表,,,,,,,,", *key_rows(2)]
    lines[2] = lines[2].replace("91420200EKB845UM02", '="91420200EKB845UM02"')
    path.write_text("\n".join(lines), encoding="utf-8")
    report, rows = read_all(path)
    assert [ref for ref, _ in rows] == ["3", "4"]  # file lines: the title and header are not records
    assert rows[0][1]["subject"]["uscc"] == "91420200EKB845UM02"


def test_quoted_multiline_cells_keep_row_references_at_the_record_start(tmp_path):
    path = tmp_path / "multiline.csv"
    row = KEY_ROW.format(n=1).replace("无证经营", '"无证经营，\n经责令改正后拒不改正"')
    path.write_text("\n".join([KEY_HEADER, row, KEY_ROW.format(n=2)]), encoding="utf-8")
    _, rows = read_all(path)
    assert [ref for ref, _ in rows] == ["2", "4"]
    assert rows[0][1]["matter"]["cause"] == "无证经营，\n经责令改正后拒不改正"


def write_workbook(path: Path, sheets: dict[str, list[list]]) -> None:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
    book.save(path)


PENALTY_HEADER = ["行政相对人名称", "行政相对人类别", "统一社会信用代码", "证件类型", "证件号码", "行政处罚决定书文号",
                  "违法行为类型", "违法事实", "处罚依据", "处罚类别", "处罚内容", "处罚决定日期", "处罚有效期", "处罚机关"]


def penalty_row(n: int, **changes) -> list:
    row = dict(zip(PENALTY_HEADER, ["黄石建工集团有限公司", "法人及非法人组织", "91420200KN1PC5NYE0", None, None,
                                    f"黄环罚〔2024〕{n}号", "未批先建", "擅自开工建设", "《环境影响评价法》第三十一条", "罚款",
                                    "罚款五万元", dt.datetime(2024, 4, 2), dt.date(2025, 4, 1), "黄石市生态环境局"]))
    row.update(changes)
    return list(row.values())


def test_xlsx_every_sheet_with_its_own_header_dates_and_row_references(tmp_path):
    path = tmp_path / "penalties.xlsx"
    write_workbook(path, {
        "2024上半年": [["黄石市行政处罚信息（2024年上半年）"], PENALTY_HEADER, penalty_row(1), penalty_row(2)],
        "2024下半年": [PENALTY_HEADER, penalty_row(3)],
    })
    report, rows = read_all(path)
    assert report.format == "xlsx" and report.layout == "sgs_penalty_2019"
    assert [ref for ref, _ in rows] == ["2024上半年!3", "2024上半年!4", "2024下半年!2"]
    event = rows[0][1]
    assert event["decision"]["date"] == "2024-04-02" and event["decision"]["valid_until"] == "2025-04-01"
    assert event["source_format"] == "xlsx" and event["source_ref"] == "penalties.xlsx:2024上半年!3"


def test_xlsx_id_number_typed_into_a_number_cell_is_sent_and_flagged(tmp_path):
    path = tmp_path / "numbers.xlsx"
    person = penalty_row(1, **{"行政相对人名称": "刘敏", "行政相对人类别": "自然人", "统一社会信用代码": None,
                               "证件类型": "身份证", "证件号码": 420202199911173037})
    write_workbook(path, {"Sheet1": [PENALTY_HEADER, person]})
    report, rows = read_all(path)
    sent = rows[0][1]["subject"]["id_number"]
    assert len(rows) == 1 and sent.startswith("42020219991117") and sent != "420202199911173037"  # as Excel kept it
    assert report.problems["number_cell_digits_lost"] == 1


def test_a_renamed_workbook_is_read_as_the_workbook_it_is(tmp_path):
    path = tmp_path / "really-excel.csv"
    write_workbook(path.with_suffix(".xlsx"), {"Sheet1": [PENALTY_HEADER, penalty_row(1)]})
    path.write_bytes(path.with_suffix(".xlsx").read_bytes())
    report, rows = read_all(path)
    assert report.format == "xlsx" and len(rows) == 1


def test_json_documents_in_their_wrapper_shapes():
    assert find_records([{"a": 1}]) == [{"a": 1}]
    assert find_records({"code": 0, "result": [{"a": 1}]}) == [{"a": 1}]
    assert find_records({"data": {"total": 1, "list": [{"a": 1}]}}) == [{"a": 1}]
    assert find_records({"iname": "陈某"}) == [{"iname": "陈某"}]
    assert find_records("text") is None


def test_json_lines_with_numbers_and_nulls(tmp_path):
    path = tmp_path / "court.jsonl"
    records = [{"iname": "李某", "cardNum": "4202021988****1149", "caseCode": "（2024）鄂0203执88号", "age": 36,
                "courtName": None, "publishDate": "2024-03-15"}]
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records * 2) + "\n", encoding="utf-8")
    report, rows = read_all(path)
    assert report.format == "jsonl" and len(rows) == 2
    assert rows[0][1]["raw"]["age"] == "36" and rows[0][1]["decision"]["authority"] is None
    assert rows[0][1]["event_id"] == rows[1][1]["event_id"]  # a repeated record is the same event


def test_empty_rows_are_skipped_and_counted_not_sent(tmp_path):
    path = tmp_path / "gaps.csv"
    path.write_text("\n".join([KEY_HEADER, KEY_ROW.format(n=1), ",,,,,,,,", KEY_ROW.format(n=2)]), encoding="utf-8")
    report, rows = read_all(path)
    assert len(rows) == 2 and report.problems["empty_row_skipped"] == 1


@pytest.mark.parametrize("name, content, message, row", [
    ("empty.csv", b"", "the file is empty", None),
    ("unknown.csv", "a,b,c\n1,2,3\n".encode(), "layout not recognised", "1"),
    ("missing.csv", "XK_XMMC,XK_XDR,XK_XDR_SHXYM,XK_JDRQ\n许可,某公司,91420200EKB845UM02,2024-01-01\n".encode(),
     "missing required column 决定文书号", "1"),
    ("broken.json", b'[{"iname": "a", "caseCode": "b"},\n {"iname": ', "broken JSON", 2),
    ("broken.jsonl", '{"iname": "a", "caseCode": "b"}\n{"iname": "c", \n'.encode(), "broken JSON line", 2),
    ("corrupt.xlsx", b"PK\x03\x04" + b"\x00" * 64, "not a readable Excel workbook", None),
    ("wrapper.json", b'{"code": 0, "message": "ok"}', "", None),
])
def test_bad_files_are_refused_naming_file_and_row(tmp_path, name, content, message, row):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(FileProblem) as caught:
        read_all(path)
    assert message in str(caught.value) and str(caught.value).startswith(str(path))
    assert caught.value.row == row or (row is None and caught.value.row in (None, "0"))


def test_missing_file_is_a_file_problem(tmp_path):
    with pytest.raises(FileProblem, match="no such file"):
        read_all(tmp_path / "nowhere.csv")


def test_unknown_layout_name_is_refused():
    with pytest.raises(FileProblem, match="unknown layout 'nope'"):
        read_all(FIXTURES / "sgs_licence_2016.csv", layout="nope")
