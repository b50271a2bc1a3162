"""Every row of a unit's files is accounted for downstream: the valid ones in the records, the bad
ones in the rejections with their reasons — nothing dropped at the adapter, nothing doubled by a
re-load. The whole embedded stack (Apache Kafka, worker, sink, ClickHouse)."""
from __future__ import annotations

from pathlib import Path

import pytest

from creditstream.embedded.stack import EmbeddedStack, SinkClient
from producers.batch_file import FileReport, LoadOptions, load_file, read_events
from producers.credit_producer import CreditProducer
from producers.verdict import verdict
from sinks.clickhouse import connect
from tests.conftest import stack_settings, wait_for

pytestmark = pytest.mark.integration
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "adapters"
FILES = {"sgs_licence_2016.csv": "SAMR-420200", "arrears_utility.csv": "POWER-420200",
         "court_dishonest.json": "COURT-420200", "tax_major_violation.csv": "TAX-420200"}


def test_every_row_ends_in_records_or_rejections_once(tmp_path):
    settings = stack_settings(tmp_path)
    expected = {}
    for name, unit in FILES.items():
        for _, event in read_events(FIXTURES / name, LoadOptions(unit=unit), FileReport(name)):
            expected[event["event_id"]] = verdict(event)["status"]
    assert "rejected" in expected.values() and "accepted" in expected.values()
    stack = EmbeddedStack(settings).start()
    try:
        for _ in range(2):  # the clerk loads the files twice
            producer = CreditProducer(settings.bootstrap_servers)
            for name, unit in FILES.items():
                assert load_file(FIXTURES / name, LoadOptions(unit=unit), producer).complete
        sink = SinkClient(settings)

        def stored() -> int:
            units = sink.get("/v1/counts")["units"]
            return sum(u["records"] + u["rejected"] for u in units if u["source_unit"] in FILES.values())

        wait_for(lambda: stored() >= len(expected), 180, what="every row stored or rejected")
    finally:
        stack.stop()
    client = connect(settings)
    db = settings.clickhouse_database
    records = dict(client.query(f"SELECT event_id, count() FROM {db}.records GROUP BY event_id").result_rows)
    rejections = dict(client.query(f"SELECT event_id, count() FROM {db}.rejections GROUP BY event_id").result_rows)
    for event_id, status in expected.items():
        where = records if status == "accepted" else rejections
        assert where.get(event_id) == 1, f"{event_id} ({status}) found {where.get(event_id)} times"
        assert event_id not in (rejections if status == "accepted" else records)
