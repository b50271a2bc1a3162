"""The batch-file adapter and zero reports through the real commands into a real Apache Kafka, as
a unit's clerk runs them: `creditstream validate`, `load`, `zero-report`."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from avro_schemas.codec import CREDIT_EVENT, ZERO_REPORT, codec
from creditstream.embedded.kafka import EmbeddedKafka
from creditstream.topics import INBOUND, ZERO_REPORTS, ensure_topics, topic_specs
from tests.integration.test_end_to_end import read_topic
from tests.conftest import stack_settings

pytestmark = pytest.mark.integration
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "adapters"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def kafka(tmp_path_factory):
    settings = stack_settings(tmp_path_factory.mktemp("adapter-files"))
    broker = EmbeddedKafka(settings)
    broker.start(log=lambda *_: None)
    try:
        ensure_topics(settings.bootstrap_servers, topic_specs(2))
        yield settings
    finally:
        broker.stop()


def cli(settings, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "CREDITSTREAM_KAFKA_BOOTSTRAP": settings.bootstrap_servers,
           "CREDITSTREAM_DATA_DIR": str(settings.data_dir), "COLUMNS": "160"}
    return subprocess.run([sys.executable, "-m", "creditstream", *args], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=300)


def inbound_events(settings, unit: str) -> list[tuple[bytes, dict]]:
    """The unit's events on credit.inbound (each test loads as a unit of its own: partitions are
    read one after the other, so a count of earlier messages would not mark where a test began)."""
    decode = codec(CREDIT_EVENT).decode
    events = ((key, decode(value)) for key, value in read_topic(settings.bootstrap_servers, INBOUND))
    return [(key, event) for key, event in events if event["source_unit"] == unit]


def test_validate_prints_a_verdict_per_row_and_exits_1_when_some_fail(kafka):
    result = cli(kafka, "validate", "--json", str(FIXTURES / "sgs_licence_2016.csv"))
    assert result.returncode == 1, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["row"] for r in rows] == ["2", "3", "4", "5"]
    assert rows[3]["status"] == "rejected" and rows[3]["reasons"][0]["code"] == "invalid_uscc"
    assert rows[2]["subject"] == "4202021988****1149"  # masked
    assert read_topic(kafka.bootstrap_servers, INBOUND) == []  # validate sends nothing


def test_load_sends_every_row_keyed_by_subject_and_reloading_doubles_no_id(kafka):
    first = cli(kafka, "load", str(FIXTURES / "key_fields_zh_gbk.csv"), "--unit", "SAMR-420200")
    assert first.returncode == 0, first.stdout + first.stderr
    assert "all 3 rows delivered" in first.stdout and "gb18030" in first.stdout
    again = cli(kafka, "load", str(FIXTURES / "key_fields_zh_gbk.csv"), "--unit", "SAMR-420200")
    assert again.returncode == 0
    events = inbound_events(kafka, "SAMR-420200")
    assert len(events) == 6
    ids = [e["event_id"] for _, e in events]
    assert len(set(ids)) == 3
    assert all(ids.count(i) == 2 for i in ids)
    for key, event in events:
        assert key.decode() == (event["subject"]["uscc"] or event["subject"]["id_number"])
        assert event["source_unit"] == "SAMR-420200" and event["reporting_mode"] == "BATCH"


def test_rows_with_problems_are_sent_on_and_counted_in_the_summary(kafka):
    result = cli(kafka, "load", str(FIXTURES / "arrears_utility.csv"), "--unit", "POWER-420200")
    assert result.returncode == 0, result.stderr
    assert "no_subject_id" in result.stdout
    events = inbound_events(kafka, "POWER-420200")
    assert len(events) == 3
    assert any(e["subject"]["uscc"] is None and e["subject"]["id_number"] is None for _, e in events)


def test_an_excel_workbook_loads(kafka, tmp_path):
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["iname", "cardNum", "sexy", "caseCode", "courtName", "publishDate", "disruptTypeName"])
    sheet.append(["陈某某", "3423011985****6198", "男", "（2023）鄂0202执1234号", "黄石港区人民法院", "2023-05-20",
                  "违反限制消费令"])
    path = tmp_path / "court.xlsx"
    book.save(path)
    result = cli(kafka, "load", str(path), "--unit", "COURT-XLSX")
    assert result.returncode == 0, result.stderr
    (_, event), = inbound_events(kafka, "COURT-XLSX")
    assert event["category"] == "COURT_DISHONEST" and event["source_format"] == "xlsx"
    assert event["source_ref"] == "court.xlsx:Sheet!2"


@pytest.mark.parametrize("content, words", [
    (b"XK_XMMC,XK_XDR,XK_XDR_SHXYM\n\xe8\xae\xb8\xe5\x8f\xaf,a,b\n", "missing required column"),
    (b"a,b,c\n1,2,3\n", "layout not recognised"),
])
def test_bad_files_exit_2_naming_file_and_row_and_send_nothing(kafka, tmp_path, content, words):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    before = len(read_topic(kafka.bootstrap_servers, INBOUND))
    result = cli(kafka, "load", str(path), "--unit", "SAMR-420200")
    assert result.returncode == 2
    message = " ".join(result.stderr.split())
    assert str(path) in message.replace(" ", "") or "bad.csv" in message
    assert words in message and "row 1" in message and "nothing was sent" in message
    assert len(read_topic(kafka.bootstrap_servers, INBOUND)) == before


def test_a_wrong_encoding_part_way_is_refused_before_anything_is_sent(kafka, tmp_path):
    path = tmp_path / "mixed.csv"
    good = (FIXTURES / "court_dishonest_page_zh.csv").read_bytes()
    path.write_bytes(good + "李某,4202021988****1149,女,36,,黄石市中级人民法院,湖北,,2024年01月02日,（2024）鄂02执9号,,,全部未履行,违反限制消费令,2024年03月01日\n".encode("gbk"))
    before = len(read_topic(kafka.bootstrap_servers, INBOUND))
    result = cli(kafka, "load", str(path), "--unit", "COURT-420200")
    assert result.returncode == 2
    assert "row 4" in result.stderr and "wrong encoding" in result.stderr
    assert len(read_topic(kafka.bootstrap_servers, INBOUND)) == before


def test_zero_report_command_publishes_a_zero_report(kafka):
    result = cli(kafka, "zero-report", "--unit", "TAX-420200", "--catalog", "TAX-ZDSS", "--period", "2024-11")
    assert result.returncode == 0, result.stderr
    (key, value), = read_topic(kafka.bootstrap_servers, ZERO_REPORTS)
    report = codec(ZERO_REPORT).decode(value)
    assert key == b"TAX-420200|TAX-ZDSS|2024-11"
    assert (report["source_unit"], report["catalog"], report["period"]) == ("TAX-420200", "TAX-ZDSS", "2024-11")
    refused = cli(kafka, "zero-report", "--unit", "TAX-420200", "--catalog", "TAX-ZDSS", "--period", "2999-01")
    assert refused.returncode == 2 and "period" in refused.stderr
