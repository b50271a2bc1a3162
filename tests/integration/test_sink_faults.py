"""The sink process under faults, on real Apache Kafka and real chdb: killed between insert and
commit, ClickHouse refusing writes for a while, outputs published twice. Only the broker and the
sink run (no worker): the test publishes to the sink's topics itself, so it knows every message."""
from __future__ import annotations

import re
import urllib.request
import uuid
from datetime import date

import pytest
from confluent_kafka import Producer

from avro_schemas.codec import BLACKLIST_ENTRY, CHECK_RECORD, REJECTION, VALIDATED_RECORD, ZERO_REPORT, codec
from creditstream.embedded.stack import EmbeddedStack, SinkClient
from creditstream.topics import BLACKLIST, CHECKS, RECORDS, REJECTED, ZERO_REPORTS, ensure_topics, topic_specs
from sinks.clickhouse import connect
from sinks.faults import CLICKHOUSE_DOWN, KILL_AFTER_INSERT, FaultPoints
from tests.conftest import stack_settings, wait_for

pytestmark = pytest.mark.integration
T0 = 1_767_225_600_000


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    data = tmp_path_factory.mktemp("sink-faults")
    settings = stack_settings(data, sink_fault_dir=str(data / "faults"), sink_batch_size=300,
                              sink_batch_seconds=0.3)
    s = EmbeddedStack(settings, log=lambda _m: None)
    try:
        s.kafka.start(log=lambda _m: None)
        ensure_topics(settings.bootstrap_servers, topic_specs(settings.topic_partitions))
        s.start_sink()
        yield s
    finally:
        s.stop()


@pytest.fixture
def faults(stack):
    f = FaultPoints(stack.settings.sink_fault_dir)
    yield f
    for name in (CLICKHOUSE_DOWN, KILL_AFTER_INSERT):
        f.switch(name, False)


def record(event_id: str, unit: str) -> dict:
    return {"event_id": event_id, "source_unit": unit, "catalog": "XZCF", "category": "PENALTY",
            "reporting_mode": "INTERFACE", "source_format": "json", "reported_at": T0, "processed_at": T0 + 1,
            "subject_type": "LEGAL_PERSON", "subject_key": f"S-{event_id}", "subject_key_kind": "USCC",
            "decision_date": date(2025, 12, 1)}


def rejection(event_id: str, unit: str) -> dict:
    return {"event_id": event_id, "source_unit": unit, "catalog": "XZCF", "category": "PENALTY",
            "reported_at": T0, "rejected_at": T0 + 1,
            "reasons": [{"code": "invalid_uscc", "field": "subject.uscc", "message": "checksum"}]}


def entry(subject: str, status: str) -> dict:
    return {"subject_key": subject, "subject_type": "LEGAL_PERSON", "lists": ["TAX_VIOLATION"], "basis": [],
            "status": status, "updated_at": T0}


def publish(settings, messages: list[tuple[str, bytes, bytes | None]]) -> None:
    producer = Producer({"bootstrap.servers": settings.bootstrap_servers, "enable.idempotence": True,
                         "linger.ms": 20})
    for topic, key, value in messages:
        producer.produce(topic, key=key, value=value)
    assert producer.flush(30) == 0


def mixed_messages(tag: str, unit: str, n_records: int) -> tuple[list, dict]:
    """Every topic of the sink, with outputs published twice at new offsets (a worker restart) and
    blacklist tombstones; returns the messages and what each table must hold."""
    enc = {name: codec(name).encode for name in (VALIDATED_RECORD, REJECTION, BLACKLIST_ENTRY, CHECK_RECORD,
                                                 ZERO_REPORT)}
    msgs = []
    for i in range(n_records):
        eid = f"{tag}-r{i}"
        msgs.append((RECORDS, f"S-{eid}".encode(), enc[VALIDATED_RECORD](record(eid, unit))))
    for i in range(0, n_records, 7):  # published again later: stored once
        eid = f"{tag}-r{i}"
        msgs.append((RECORDS, f"S-{eid}".encode(), enc[VALIDATED_RECORD](record(eid, unit))))
    n_rejections = n_records // 10
    for i in range(n_rejections):
        eid = f"{tag}-j{i}"
        msgs.append((REJECTED, eid.encode(), enc[REJECTION](rejection(eid, unit))))
    subjects = [f"{tag}-b{i}" for i in range(5)]
    for s in subjects:
        msgs.append((BLACKLIST, s.encode(), enc[BLACKLIST_ENTRY](entry(s, "ACTIVE"))))
        msgs.append((BLACKLIST, s.encode(), None))  # left every list
    checks = [{"check_id": f"{tag}-c{i}", "requested_at": T0, "requesting_unit": unit, "caller": "t",
               "matter": {"kind": "行政审批"}, "subject": {"key": "x", "key_kind": "USCC"}, "listed": False,
               "hits": [], "index": {"version": "v"}} for i in range(20)]
    msgs += [(CHECKS, c["check_id"].encode(), enc[CHECK_RECORD](c)) for c in checks]
    zero = {"source_unit": unit, "catalog": "SF", "period": "2026-11", "reported_at": T0, "reporter": tag}
    msgs.append((ZERO_REPORTS, unit.encode(), enc[ZERO_REPORT](zero)))
    return msgs, {"records": n_records, "rejections": n_rejections, "blacklist_history": 10, "checks": 20,
                  "zero_reports": 1}


def stored_count(settings, unit: str) -> int:
    units = SinkClient(settings).get("/v1/counts")["units"]
    return sum(u["records"] + u["rejected"] for u in units if u["source_unit"] == unit)


def metric(settings, name: str, labels: str = "") -> float | None:
    with urllib.request.urlopen(settings.sink_url + "/metrics", timeout=5) as response:
        text = response.read().decode()
    m = re.search(rf"^{re.escape(name)}{re.escape(labels)} (\S+)$", text, re.M)
    return float(m.group(1)) if m else None


def read_stored(stack, unit: str, tag: str) -> dict:
    """Stop the sink (it owns the chdb directory), read what it stored, start it again."""
    stack.processes["sink"].stop()
    client = connect(stack.settings)
    db = stack.settings.clickhouse_database
    try:
        q = lambda sql: client.query(sql, parameters={"unit": unit, "tag": tag + "-%"}).result_rows  # noqa: E731
        found = {
            "records": q(f"SELECT count(), uniqExact(event_id) FROM {db}.records WHERE source_unit = {{unit:String}}")[0],
            "rejections": q(f"SELECT count(), uniqExact(event_id) FROM {db}.rejections "
                            f"WHERE source_unit = {{unit:String}}")[0],
            "blacklist_history": q(f"SELECT count(), uniqExact(change_id) FROM {db}.blacklist_history "
                                   f"WHERE subject_key LIKE {{tag:String}}")[0],
            "checks": q(f"SELECT count(), uniqExact(check_id) FROM {db}.checks WHERE requesting_unit = {{unit:String}}")[0],
            "zero_reports": q(f"SELECT count(), uniqExact(report_id) FROM {db}.zero_reports "
                              f"WHERE source_unit = {{unit:String}}")[0],
            "views": q(f"SELECT sum(records), sum(rejected) FROM {db}.unit_counts_month "
                       f"WHERE source_unit = {{unit:String}}")[0],
        }
    finally:
        client.close()
    stack.start_sink()
    return found


def assert_stored_once(found: dict, expected: dict) -> None:
    for table, n in expected.items():
        assert found[table] == (n, n), f"{table}: (rows, distinct ids) = {found[table]}, expected {n} once each"
    assert found["views"] == (expected["records"], expected["rejections"]), "per-unit views disagree"


def test_killed_between_insert_and_commit_then_restarted_stores_everything_once(stack, faults):
    settings = stack.settings
    unit, tag = f"kill-{uuid.uuid4().hex[:6]}", "k"
    messages, expected = mixed_messages(tag, unit, 2000)
    replays_before = stack.processes["sink"].log_path.read_text().count("replaying")
    faults.switch(KILL_AFTER_INSERT)
    publish(settings, messages)
    sink = stack.processes["sink"]
    wait_for(lambda: not sink.alive(), 60, what="the sink to kill itself after an insert, before the commit")
    assert not faults.active(KILL_AFTER_INSERT), "the fault fired"
    # The insert happened (rows are there) and the commit did not: the restart replays those ranges.
    client = connect(settings)
    try:
        inserted = client.query(f"SELECT count() FROM {settings.clickhouse_database}.sink_batches").result_rows[0][0]
    finally:
        client.close()
    assert inserted > 0
    stack.start_sink()
    wait_for(lambda: stored_count(settings, unit) >= expected["records"] + expected["rejections"], 120,
             what="every record stored after the restart")
    assert stack.processes["sink"].log_path.read_text().count("replaying") > replays_before, \
        "the restart replayed the logged ranges"
    assert_stored_once(read_stored(stack, unit, tag), expected)


def test_clickhouse_unavailable_for_a_while_loses_nothing(stack, faults):
    settings = stack.settings
    unit, tag = f"down-{uuid.uuid4().hex[:6]}", "d"
    messages, expected = mixed_messages(tag, unit, 1500)
    # The sink is up and reading (its partitions prepared) when ClickHouse goes away.
    warm = f"warm-{uuid.uuid4().hex[:6]}"
    publish(settings, [(RECORDS, b"w", codec(VALIDATED_RECORD).encode(record(warm, warm)))])
    wait_for(lambda: stored_count(settings, warm) == 1, 60, what="the sink to be reading")
    log_before = stack.processes["sink"].log_path.read_text().count("does not take writes")
    faults.switch(CLICKHOUSE_DOWN)
    publish(settings, messages)
    wait_for(lambda: metric(settings, "creditstream_sink_clickhouse_unavailable") == 1.0, 60,
             what="the unavailable gauge")
    wait_for(lambda: (metric(settings, "creditstream_sink_retries_total") or 0) >= 4, 60, what="retries with backoff")
    wait_for(lambda: (metric(settings, "creditstream_sink_lag_messages",
                             f'{{partition="0",topic="{RECORDS}"}}') or 0) > 0, 60, what="lag to show")
    wait_for(lambda: (metric(settings, "creditstream_sink_buffered_messages") or 0) > 0, 60,
             what="what was read to be held, not dropped")
    faults.switch(CLICKHOUSE_DOWN, False)
    wait_for(lambda: stored_count(settings, unit) >= expected["records"] + expected["rejections"], 120,
             what="everything stored once ClickHouse is back")
    assert metric(settings, "creditstream_sink_clickhouse_unavailable") == 0.0
    log_text = stack.processes["sink"].log_path.read_text()
    assert log_text.count("does not take writes") == log_before + 1, "one log line per episode"
    assert "takes writes again" in log_text
    assert_stored_once(read_stored(stack, unit, tag), expected)
