"""The per-unit views agree with counts computed from the base tables, per unit, indicator set,
category and minute, day and month — including history stored before the views existed — and the
read API serves them."""
from __future__ import annotations

import json
import random
import shutil
import urllib.error
import urllib.request
import uuid
from datetime import date

import pytest

from avro_schemas.codec import REJECTION, VALIDATED_RECORD, codec
from creditstream.topics import RECORDS, REJECTED
from sinks.clickhouse import migrate, migration_files
from sinks.metrics import SinkMetrics
from sinks.partition_batch import PartitionBatch
from sinks.query_api import make_server, serve_in_background
from sinks.queries import unit_stats
from sinks.store import BatchStore
from sinks.tables import Consumed, table_specs
from tests.conftest import free_ports

pytestmark = pytest.mark.integration
SPECS = table_specs()
T0 = 1_764_547_200_000  # 2025-12-01T00:00:00Z: rows spread over months, days and minutes from here
DAY_MS = 86_400_000
CATEGORIES = ["PENALTY", "LICENCE", "COURT_DISHONEST", "ARREARS"]



def random_messages(rng: random.Random, n: int, tag: str):
    records, rejections = [], []
    for i in range(n):
        # Times near midnight Beijing (16:00 UTC) land on different days in UTC and in Beijing.
        at = T0 + rng.randrange(0, 75) * DAY_MS + rng.choice([0, 15 * 3_600_000 + 59 * 60_000, 16 * 3_600_000]) \
            + rng.randrange(0, 120_000)
        unit, catalog, category = rng.choice(["tax", "court", "water"]), rng.choice(["A", "B"]), rng.choice(CATEGORIES)
        if rng.random() < 0.8:
            records.append({"event_id": f"{tag}-{i}", "source_unit": unit, "catalog": catalog, "category": category,
                            "reporting_mode": "BATCH", "source_format": "csv", "reported_at": at,
                            "processed_at": at, "subject_type": "LEGAL_PERSON", "subject_key": f"s{i}",
                            "subject_key_kind": "USCC", "late": rng.random() < 0.3,
                            "duplicate_of": "x" if rng.random() < 0.1 else None})
        else:
            rejections.append({"event_id": f"{tag}-{i}", "source_unit": unit, "catalog": catalog, "category": category,
                               "reported_at": at if rng.random() < 0.7 else None, "rejected_at": at + 5,
                               "reasons": [{"code": "invalid_uscc", "field": "subject.uscc", "message": "x"}]})
    return records, rejections


def store_in_batches(client, db, records, rejections, rng) -> None:
    store = BatchStore(client, db, SinkMetrics())
    for topic, name, items in ((RECORDS, VALIDATED_RECORD, records), (REJECTED, REJECTION, rejections)):
        encode, offset = codec(name).encode, 0
        while offset < len(items):
            size = rng.randrange(1, 400)
            b = PartitionBatch(topic, 0)
            for item in items[offset:offset + size]:
                b.add(Consumed(offset, b"k", encode(item), 0))
                offset += 1
            for _ in range(rng.choice([1, 1, 2])):  # some batches replayed
                store.store(b, SPECS[topic], None)


BASE = """
SELECT {bucket} AS t, source_unit, catalog, category, sum(r), sum(j), sum(l), sum(d) FROM (
    SELECT reported_at AS at, source_unit, catalog, category, 1 AS r, 0 AS j, toUInt8(late) AS l,
           toUInt8(duplicate_of IS NOT NULL) AS d FROM {db}.records
    UNION ALL
    SELECT coalesce(reported_at, rejected_at), source_unit, catalog, category, 0, 1, 0, 0 FROM {db}.rejections)
GROUP BY t, source_unit, catalog, category ORDER BY t, source_unit, catalog, category
"""
VIEW = """
SELECT {column} AS t, source_unit, catalog, category, sum(records), sum(rejected), sum(late), sum(duplicates)
FROM {db}.{table} GROUP BY t, source_unit, catalog, category ORDER BY t, source_unit, catalog, category
"""
LEVELS = [("unit_counts_minute", "minute", "toStartOfMinute(at)"),
          ("unit_counts_day", "day", "toDate(at, 'Asia/Shanghai')"),
          ("unit_counts_month", "month", "toStartOfMonth(toDate(at, 'Asia/Shanghai'))")]


def assert_views_agree(client, db) -> None:
    for table, column, bucket in LEVELS:
        base = client.query(BASE.format(bucket=bucket, db=db)).result_rows
        view = client.query(VIEW.format(column=column, table=table, db=db)).result_rows
        assert len(base) > 10, "too few groups for the comparison to mean anything"
        assert [tuple(r[1:]) + (str(r[0])[:16],) for r in view] == [tuple(r[1:]) + (str(r[0])[:16],) for r in base], table


def test_views_agree_with_the_base_tables(client):
    rng = random.Random(7)
    db = f"c_{uuid.uuid4().hex[:8]}"
    migrate(client, db)
    records, rejections = random_messages(rng, 3000, "live")
    store_in_batches(client, db, records, rejections, rng)
    assert_views_agree(client, db)
    days = {r[0] for r in client.query(f"SELECT day FROM {db}.unit_counts_day").result_rows}
    assert len({d.month for d in days}) >= 3


def test_history_stored_before_the_views_is_counted_once(client, tmp_path):
    rng = random.Random(8)
    db = f"c_{uuid.uuid4().hex[:8]}"
    before_views = tmp_path / "m"
    before_views.mkdir()
    for m in migration_files():
        if m.version < 7:
            shutil.copy(m.path, before_views / m.path.name)
    migrate(client, db, before_views)
    old_records, old_rejections = random_messages(rng, 1500, "old")
    store_in_batches(client, db, old_records, old_rejections, rng)
    assert migrate(client, db)  # 0007 onwards: views created, history counted
    new_records, new_rejections = random_messages(rng, 1500, "new")
    store_in_batches(client, db, new_records, new_rejections, rng)
    assert_views_agree(client, db)


def test_read_api_serves_counts_stats_and_metrics(client):
    db = f"c_{uuid.uuid4().hex[:8]}"
    migrate(client, db)
    records, rejections = random_messages(random.Random(9), 400, "api")
    store_in_batches(client, db, records, rejections, random.Random(9))
    expected = unit_stats(client, db, "month", since=date(2025, 12, 1), until=date(2026, 1, 1), source_unit="tax")
    assert expected and all(0 <= r["pass_rate"] <= 1 for r in expected)
    metrics = SinkMetrics()
    metrics.rows_stored.labels("records").inc(3)
    port = free_ports(1)[0]
    server = make_server(client, db, "secret-token", port, metrics=metrics)
    serve_in_background(server)
    base = f"http://127.0.0.1:{port}"

    def get(path, token="secret-token"):
        request = urllib.request.Request(base + path, headers={"Authorization": f"Bearer {token}"} if token else {})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    try:
        status, body = get("/v1/unit-stats?granularity=month&since=2025-12-01&until=2026-01-01&unit=tax")
        assert status == 200 and json.loads(body)["rows"] == expected
        counts = json.loads(get("/v1/counts")[1])["units"]
        assert sum(u["records"] for u in counts) == len(records)
        assert sum(u["rejected"] for u in counts) == len(rejections)
        assert get("/v1/unit-stats?granularity=week")[0] == 400
        assert get("/v1/unit-stats?since=yesterday")[0] == 400
        assert get("/v1/counts", token="wrong")[0] == 401
        assert get("/v1/counts", token=None)[0] == 401
        status, text = get("/metrics", token=None)
        assert status == 200 and 'creditstream_sink_rows_stored_total{table="records"} 3.0' in text
    finally:
        server.shutdown()
