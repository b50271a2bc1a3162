"""Storing batches in real chdb: every table's round trip, replays that double nothing (in the base
tables and in the per-unit views), the replay guard, and messages that cannot be read."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from avro_schemas.codec import BLACKLIST_ENTRY, CHECK_RECORD, REJECTION, VALIDATED_RECORD, ZERO_REPORT, codec
from creditstream.topics import BLACKLIST, CHECKS, RECORDS, REJECTED, ZERO_REPORTS
from sinks.metrics import SinkMetrics
from sinks.partition_batch import PartitionBatch
from sinks.replay_guard import RecentEventIds
from sinks.store import BatchStore
from sinks.tables import Consumed, table_specs

pytestmark = pytest.mark.integration
SPECS = table_specs()
T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z




@pytest.fixture
def store(client, db):
    return BatchStore(client, db, SinkMetrics())


def record(i: int, **overrides) -> dict:
    r = {
        "event_id": f"evt-{i:05d}", "source_unit": f"unit-{i % 3}", "catalog": "XZCF", "category": "PENALTY",
        "reporting_mode": "BATCH", "source_format": "xlsx", "reported_at": T0 + i * 1000, "processed_at": T0 + i * 1000 + 5,
        "subject_type": "LEGAL_PERSON", "subject_key": f"9135010000000{i:05d}", "subject_key_kind": "USCC",
        "subject_name": "某某有限公司", "sex": None, "region_code": "350100", "document_number": f"榕市监罚〔2026〕{i}号",
        "authority": "福州市市场监督管理局", "decision_date": date(2025, 12, 30), "valid_until": None,
        "matter_name": "行政处罚", "cause": "未按规定公示年度报告", "content": "罚款", "timeliness_days": 1,
        "late": i % 4 == 0, "duplicate_of": f"evt-{i - 1:05d}" if i % 5 == 0 else None,
        "prohibited_dropped": ["religion"] if i == 1 else [], "raw": {"XK_WSH": str(i)}, "reported_by": "clerk",
        "source_ref": f"file.xlsx#{i}", "other_ids": {"org_code": "12345678-9"}, "flags": ["PRE_USCC_CODE"],
        "valid_from": date(2026, 1, 1), "decision_status": "正常",
    }
    r.update(overrides)
    return r


def batch(topic: str, values, first_offset: int = 0, partition: int = 0, keys=None) -> PartitionBatch:
    b = PartitionBatch(topic, partition)
    for i, value in enumerate(values):
        b.add(Consumed(first_offset + i, (keys[i] if keys else b"k"), value, T0 + i))
    return b


def encoded(name: str, records) -> list[bytes]:
    return [codec(name).encode(r) for r in records]


def count(client, db, table: str, where: str = "1") -> int:
    return client.query(f"SELECT count() FROM {db}.{table} WHERE {where}").result_rows[0][0]


def test_records_round_trip_by_avro_passthrough(client, db, store):
    records = [record(i) for i in range(1, 21)]
    result = store.store(batch(RECORDS, encoded(VALIDATED_RECORD, records), 100, partition=2), SPECS[RECORDS], None)
    assert result.rows["records"] == 20 and result.undecodable == 0
    row = client.query(
        f"SELECT event_id, category, reported_at, decision_date, valid_until, valid_from, raw, other_ids, flags, "
        f"prohibited_dropped, late, duplicate_of, subject_name, kafka_topic, kafka_partition, kafka_offset "
        f"FROM {db}.records WHERE event_id = 'evt-00001'").result_rows[0]
    assert row[0:2] == ("evt-00001", "PENALTY")
    assert row[2].replace(tzinfo=timezone.utc) == datetime(2026, 1, 1, 0, 0, 1, tzinfo=timezone.utc)
    assert row[3:6] == (date(2025, 12, 30), None, date(2026, 1, 1))
    assert row[6:10] == ({"XK_WSH": "1"}, {"org_code": "12345678-9"}, ["PRE_USCC_CODE"], ["religion"])
    assert row[10:13] == (False, None, "某某有限公司")
    assert row[13:] == ("credit.records", 2, 100)
    assert sorted(result.event_ids)[0] == (100, "evt-00001")


def test_replayed_batch_doubles_nothing_in_tables_or_views(client, db, store):
    records = [record(i) for i in range(1, 41)]
    rejection = {"event_id": "bad-1", "source_unit": "unit-1", "catalog": "XZCF", "category": "PENALTY",
                 "reported_at": T0, "rejected_at": T0 + 9, "reasons": [{"code": "invalid_uscc", "field": "subject.uscc",
                                                                       "message": "校验失败"}],
                 "origin": None, "subject_masked": None, "original": {}}
    b1 = batch(RECORDS, encoded(VALIDATED_RECORD, records), 0)
    b2 = batch(REJECTED, encoded(REJECTION, [rejection]), 0)
    for _ in range(3):  # a crash after the insert, before the commit: the same range comes again
        store.store(b1, SPECS[RECORDS], None)
        store.store(b2, SPECS[REJECTED], None)
    assert count(client, db, "records") == 40
    assert count(client, db, "rejections") == 1
    views = client.query(f"SELECT sum(records), sum(rejected), sum(late), sum(duplicates) FROM {db}.unit_counts_minute"
                         ).result_rows[0]
    assert views == (40, 1, 10, 8)
    for table in ("unit_counts_day", "unit_counts_month"):
        assert client.query(f"SELECT sum(records), sum(rejected) FROM {db}.{table}").result_rows[0] == (40, 1)


def test_replay_guard_drops_an_event_published_again_at_a_new_offset(client, db, store):
    guard = RecentEventIds(window=1000)
    first = store.store(batch(RECORDS, encoded(VALIDATED_RECORD, [record(1), record(2)]), 0), SPECS[RECORDS], guard)
    for offset, eid in first.event_ids:
        guard.add(offset, eid)
    again = store.store(batch(RECORDS, encoded(VALIDATED_RECORD, [record(2), record(3), record(3)]), 2),
                        SPECS[RECORDS], guard)
    assert again.dropped["records"] == 2 and again.rows["records"] == 1
    assert count(client, db, "records") == 3
    rebuilt = RecentEventIds(window=1000)
    rebuilt.load(client, db, "records", RECORDS, 0, start=5)
    assert {e for e in ("evt-00001", "evt-00002", "evt-00003") if e in rebuilt} == {"evt-00001", "evt-00002",
                                                                                     "evt-00003"}
    narrow = RecentEventIds(window=2)
    narrow.load(client, db, "records", RECORDS, 0, start=4)  # offsets 2 and 3 only
    assert "evt-00001" not in narrow and "evt-00003" in narrow


def test_a_round_with_two_batches_of_one_partition_stores_a_republished_event_once(client, db):
    from sinks.batch_sink import ClickHouseSink

    sink = ClickHouseSink(client, db, "127.0.0.1:9", "unused", 100, 1.0, 1000)
    guard = RecentEventIds(window=1000)
    guard.load(client, db, "records", RECORDS, 0, start=0)
    enc = encoded(VALIDATED_RECORD, [record(1), record(2), record(2), record(3)])
    b1, b2 = batch(RECORDS, enc[:2], 0), batch(RECORDS, enc[2:], 2)
    round_ = [(b1, SPECS[RECORDS], guard), (b2, SPECS[RECORDS], guard)]
    results = sink._write_round(round_)
    assert [r.rows["records"] for r in results] == [2, 1] and results[1].dropped["records"] == 1
    again = sink._write_round(round_)  # the same round retried after a failure: the same inserts
    assert [r.rows["records"] for r in again] == [2, 1]
    assert count(client, db, "records") == 3
    sink.consumer.close()


def test_unreadable_messages_become_rejections_and_the_rest_is_stored(client, db, store):
    good = encoded(VALIDATED_RECORD, [record(1), record(2)])
    corrupt_body = good[0][:5] + b"\x0aevt-9" + b"\xff" * 3  # right header, event id readable, body cut short
    wrong_type = codec(REJECTION).encode({"event_id": "x", "source_unit": "", "catalog": "", "category": "",
                                          "rejected_at": T0, "reasons": []})
    values = [good[0], b"not avro", corrupt_body, None, wrong_type, good[1]]
    b = batch(RECORDS, values, 50)
    for _ in range(2):
        result = store.store(b, SPECS[RECORDS], None)
    assert result.rows["records"] == 2 and result.undecodable == 4
    assert count(client, db, "records") == 2
    rejected = client.query(f"SELECT event_id, reason_codes, origin_offset, kafka_topic FROM {db}.rejections "
                            "ORDER BY origin_offset").result_rows
    assert [(r[0], r[1], r[2]) for r in rejected] == [
        ("credit.records-0-51", ["undecodable"], 51), ("credit.records-0-52", ["undecodable"], 52),
        ("credit.records-0-53", ["undecodable"], 53), ("credit.records-0-54", ["undecodable"], 54)]


def blacklist_entry(subject: str, status: str = "ACTIVE", updated: int = T0) -> dict:
    return {"subject_key": subject, "subject_type": "NATURAL_PERSON", "subject_name": "张三",
            "lists": ["COURT_DISHONEST"] if status == "ACTIVE" else [],
            "basis": [{"event_id": "evt-1", "category": "COURT_DISHONEST", "source_unit": "court",
                       "document_number": "(2024)闽0102执1号", "authority": "鼓楼区人民法院",
                       "decision_date": date(2024, 3, 1), "valid_until": None, "status": status}],
            "since": date(2024, 3, 1), "until": None, "status": status, "updated_at": updated,
            "subject_key_kind": "ID_NUMBER", "status_since": updated if status != "ACTIVE" else None,
            "status_reason": "履行完毕" if status != "ACTIVE" else None}


def test_blacklist_history_keeps_every_change_and_tombstones(client, db, store):
    subject = "350102199001011234"
    values = encoded(BLACKLIST_ENTRY, [blacklist_entry(subject), blacklist_entry(subject, "EXITED", T0 + 5000)]) + [None]
    b = batch(BLACKLIST, values, 7, keys=[subject.encode()] * 3)
    store.store(b, SPECS[BLACKLIST], None)
    store.store(b, SPECS[BLACKLIST], None)
    rows = client.query(f"SELECT change, status, lists, basis_event_ids, basis_statuses, status_reason, subject_key "
                        f"FROM {db}.blacklist_history ORDER BY kafka_offset").result_rows
    assert rows == [
        ("UPSERT", "ACTIVE", ["COURT_DISHONEST"], ["evt-1"], ["ACTIVE"], None, subject),
        ("UPSERT", "EXITED", [], ["evt-1"], ["EXITED"], "履行完毕", subject),
        ("TOMBSTONE", None, [], [], [], None, subject),
    ]
    current = client.query(f"SELECT last_change, exited_on FROM {db}.blacklist_current").result_rows
    assert current == [("TOMBSTONE", date(2026, 1, 1))]


def check_record(check_id: str, listed: bool) -> dict:
    hits = [{"list": "COURT_DISHONEST", "status": "ACTIVE", "subject_key": "350102********1234",
             "since": date(2024, 3, 1), "until": None, "basis_event_ids": ["evt-1", "evt-2"]}] if listed else []
    return {"check_id": check_id, "requested_at": T0, "requesting_unit": "fgw", "caller": "token-7",
            "matter": {"kind": "行政审批", "name": "食品经营许可", "reference": "SP-1"},
            "subject": {"key": "350102********1234", "key_kind": "ID_NUMBER_MASKED", "subject_type": "NATURAL_PERSON",
                        "name": "张三"},
            "match": "KEY", "listed": listed, "hits": hits,
            "index": {"version": "credit.blacklist:0=10", "as_of": T0 - 1000, "stale": False}}


def test_checks_round_trip(client, db, store):
    b = batch(CHECKS, encoded(CHECK_RECORD, [check_record("c-1", True), check_record("c-2", False)]))
    store.store(b, SPECS[CHECKS], None)
    store.store(b, SPECS[CHECKS], None)
    rows = client.query(f"SELECT check_id, listed, hit_lists, hit_statuses, hit_basis_event_ids, matter_kind, match, "
                        f"index_version FROM {db}.checks ORDER BY check_id").result_rows
    assert rows == [
        ("c-1", True, ["COURT_DISHONEST"], ["ACTIVE"], [["evt-1", "evt-2"]], "行政审批", "KEY", "credit.blacklist:0=10"),
        ("c-2", False, [], [], [], "行政审批", "KEY", "credit.blacklist:0=10"),
    ]


def test_zero_reports_round_trip(client, db, store):
    reports = [{"source_unit": "water", "catalog": "SF", "period": p, "reported_at": T0, "reporter": "clerk",
                "note": None, "reporting_mode": "ONLINE_FORM"} for p in ("2026-11", "2026-W47", "late autumn")]
    b = batch(ZERO_REPORTS, encoded(ZERO_REPORT, reports))
    store.store(b, SPECS[ZERO_REPORTS], None)
    store.store(b, SPECS[ZERO_REPORTS], None)
    rows = client.query(f"SELECT period, period_kind, period_start FROM {db}.zero_reports ORDER BY kafka_offset"
                        ).result_rows
    assert rows == [("2026-11", "MONTH", date(2026, 11, 1)), ("2026-W47", "WEEK", date(2026, 11, 16)),
                    ("late autumn", "OTHER", None)]


def test_rejections_round_trip(client, db, store):
    rejection = {"event_id": "r-1", "source_unit": "tax", "catalog": "SS", "category": "TAX_VIOLATION",
                 "reported_at": None, "rejected_at": T0,
                 "reasons": [{"code": "invalid_uscc", "field": "subject.uscc", "message": "a"},
                             {"code": "missing_field", "field": "subject.name", "message": "b"}],
                 "origin": {"topic": "credit.inbound", "partition": 1, "offset": 77}, "subject_masked": "9135***",
                 "original": {"name": ""}, "source_ref": "upload.csv#3", "reported_by": "clerk"}
    store.store(batch(REJECTED, encoded(REJECTION, [rejection])), SPECS[REJECTED], None)
    row = client.query(f"SELECT reason_codes, reason_fields, origin_topic, origin_offset, source_ref, reported_at "
                       f"FROM {db}.rejections").result_rows[0]
    assert row == (["invalid_uscc", "missing_field"], ["subject.uscc", "subject.name"], "credit.inbound", 77,
                   "upload.csv#3", None)
