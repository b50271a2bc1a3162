"""Retention by law: personal negative records leave the published views 5 years after the end of the
act, checks lose such hits from their published view but stay stored, and nothing else is touched."""
from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from avro_schemas.codec import BLACKLIST_ENTRY, CHECK_RECORD, VALIDATED_RECORD, codec
from creditstream.topics import BLACKLIST, CHECKS, RECORDS
from sinks.clickhouse import connect_url, migrate
from sinks.metrics import SinkMetrics
from sinks.partition_batch import PartitionBatch
from sinks.store import BatchStore
from sinks.tables import Consumed, table_specs

pytestmark = pytest.mark.integration
SPECS = table_specs()
TODAY = datetime.now(ZoneInfo("Asia/Shanghai")).date()
NOW_MS = int(datetime.now(timezone.utc).timestamp() * 1000)


def years_ago(n: int, days: int = 0) -> date:
    return TODAY.replace(year=TODAY.year - n) - timedelta(days=days) if not (TODAY.month == 2 and TODAY.day == 29) \
        else date(TODAY.year - n, 2, 28) - timedelta(days=days)


def ms(d: date) -> int:
    return int(datetime(d.year, d.month, d.day, 12, tzinfo=timezone.utc).timestamp() * 1000)


PERSON = dict(subject_type="NATURAL_PERSON", subject_key_kind="ID_NUMBER")
ORG = dict(subject_type="LEGAL_PERSON", subject_key_kind="USCC")

# event id -> (record fields, published?)
CASES = {
    "person-penalty-ended-6y": (dict(PERSON, category="PENALTY", valid_until=years_ago(6)), False),
    "person-penalty-ended-5y-today": (dict(PERSON, category="PENALTY", valid_until=years_ago(5)), False),
    "person-penalty-ended-5y-tomorrow": (dict(PERSON, category="PENALTY", valid_until=years_ago(5, days=-1)), True),
    "person-penalty-ended-4y": (dict(PERSON, category="PENALTY", valid_until=years_ago(4)), True),
    "person-penalty-decided-6y": (dict(PERSON, category="PENALTY", decision_date=years_ago(6)), False),
    "person-arrears-decided-4y": (dict(PERSON, category="ARREARS", decision_date=years_ago(4)), True),
    "masked-id-penalty-ended-6y": (dict(PERSON, subject_key_kind="ID_NUMBER_MASKED", subject_type="UNKNOWN",
                                        category="PENALTY", valid_until=years_ago(6)), False),
    "org-penalty-ended-10y": (dict(ORG, category="PENALTY", valid_until=years_ago(10)), True),
    "person-licence-ended-10y": (dict(PERSON, category="LICENCE", valid_until=years_ago(10)), True),
    "person-redlist-10y": (dict(PERSON, category="RED_LIST", decision_date=years_ago(10)), True),
    "person-dishonest-open-still-listed": (dict(PERSON, category="COURT_DISHONEST", decision_date=years_ago(10),
                                                subject_key="P-LISTED"), True),
    "person-dishonest-open-exited-6y": (dict(PERSON, category="COURT_DISHONEST", decision_date=years_ago(10),
                                             subject_key="P-EXITED-6"), False),
    "person-dishonest-open-exited-4y": (dict(PERSON, category="COURT_DISHONEST", decision_date=years_ago(10),
                                             subject_key="P-EXITED-4"), True),
    "person-dishonest-open-never-seen-on-a-list": (dict(PERSON, category="COURT_DISHONEST",
                                                        decision_date=years_ago(10), subject_key="P-UNKNOWN"), True),
}


def record(event_id: str, fields: dict) -> dict:
    r = {"event_id": event_id, "source_unit": "court", "catalog": "SXBZXR", "category": "PENALTY",
         "reporting_mode": "INTERFACE", "source_format": "json", "reported_at": NOW_MS - 10 * 365 * 86_400_000,
         "processed_at": NOW_MS, "subject_type": "NATURAL_PERSON", "subject_key": f"K-{event_id}",
         "subject_key_kind": "ID_NUMBER", "decision_date": None, "valid_until": None}
    r.update(fields)
    return r


def entry(subject: str, status: str, changed: date) -> dict:
    return {"subject_key": subject, "subject_type": "NATURAL_PERSON", "subject_name": None,
            "lists": ["COURT_DISHONEST"] if status == "ACTIVE" else [], "basis": [], "since": years_ago(10),
            "until": None, "status": status, "updated_at": ms(changed), "subject_key_kind": "ID_NUMBER",
            "status_since": ms(changed) if status != "ACTIVE" else None}


def batch(topic, values, keys=None) -> PartitionBatch:
    b = PartitionBatch(topic, 0)
    for i, v in enumerate(values):
        b.add(Consumed(i, keys[i] if keys else b"k", v, NOW_MS))
    return b


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    client = connect_url(f"chdb://{tmp_path_factory.mktemp('chdb-retention')}")
    db = f"r_{uuid.uuid4().hex[:8]}"
    migrate(client, db)
    store = BatchStore(client, db, SinkMetrics())
    enc = codec(VALIDATED_RECORD).encode
    store.store(batch(RECORDS, [enc(record(eid, f)) for eid, (f, _) in CASES.items()]), SPECS[RECORDS], None)
    changes = [("P-LISTED", "ACTIVE", years_ago(10)),
               ("P-EXITED-6", "ACTIVE", years_ago(10)), ("P-EXITED-6", "EXITED", years_ago(6)),
               ("P-EXITED-4", "ACTIVE", years_ago(10)), ("P-EXITED-4", "REPAIRED", years_ago(4))]
    bl = codec(BLACKLIST_ENTRY).encode
    store.store(batch(BLACKLIST, [bl(entry(*c)) for c in changes], [c[0].encode() for c in changes]),
                SPECS[BLACKLIST], None)
    yield client, db
    client.close()


def test_published_records_follow_the_five_year_rule(stored):
    client, db = stored
    published = {r[0] for r in client.query(f"SELECT event_id FROM {db}.records_published").result_rows}
    expected = {eid for eid, (_, shown) in CASES.items() if shown}
    assert published == expected, {"withheld but expected": expected - published,
                                   "published but expected withheld": published - expected}


def test_withheld_records_stay_in_the_history(stored):
    client, db = stored
    assert client.query(f"SELECT count() FROM {db}.records").result_rows[0][0] == len(CASES)


def test_retention_view_says_why(stored):
    client, db = stored
    rows = dict(client.query(f"SELECT event_id, act_ended_on FROM {db}.records_retention").result_rows)
    assert rows["person-dishonest-open-exited-6y"] == years_ago(6)
    assert rows["person-dishonest-open-still-listed"] is None
    assert rows["person-penalty-decided-6y"] == years_ago(6)
    assert "org-penalty-ended-10y" not in rows and "person-licence-ended-10y" not in rows


def check(check_id: str, subject: dict, hits: list[dict]) -> dict:
    return {"check_id": check_id, "requested_at": ms(years_ago(7)), "requesting_unit": "fgw", "caller": "t",
            "matter": {"kind": "行政审批"}, "subject": subject, "listed": any(h["status"] == "ACTIVE" for h in hits),
            "hits": hits, "index": {"version": "v"}}


def hit(lst: str, until: date | None, basis: list[str]) -> dict:
    return {"list": lst, "status": "ACTIVE", "subject_key": "masked", "since": years_ago(9), "until": until,
            "basis_event_ids": basis}


def test_checks_are_kept_and_their_published_view_withholds_old_personal_hits(stored):
    client, db = stored
    person = {"key": "350102********1234", "key_kind": "ID_NUMBER_MASKED", "subject_type": "NATURAL_PERSON"}
    org = {"key": "91350100M000100Y43", "key_kind": "USCC", "subject_type": "LEGAL_PERSON"}
    checks = [
        check("person-hit-ended-6y", person, [hit("COURT_DISHONEST", years_ago(6), [])]),
        check("person-hit-open-basis-withheld", person, [hit("COURT_DISHONEST", None, ["person-dishonest-open-exited-6y"])]),
        check("person-hit-open-basis-still-listed", person,
              [hit("COURT_DISHONEST", None, ["person-dishonest-open-still-listed"])]),
        check("person-two-hits-one-old", person, [hit("TAX_VIOLATION", years_ago(7), []),
                                                  hit("COURT_DISHONEST", years_ago(1), [])]),
        check("person-red-list-10y", person, [hit("RED_LIST", years_ago(10), [])]),
        check("org-hit-ended-10y", org, [hit("SERIOUS_DISHONEST", years_ago(10), [])]),
    ]
    store = BatchStore(client, db, SinkMetrics())
    store.store(batch(CHECKS, [codec(CHECK_RECORD).encode(c) for c in checks]), SPECS[CHECKS], None)
    assert client.query(f"SELECT count() FROM {db}.checks").result_rows[0][0] == len(checks)
    shown = {cid: (listed, lists) for cid, listed, lists in client.query(
        f"SELECT check_id, listed, hit_lists FROM {db}.checks_published").result_rows}
    assert set(shown) == {c["check_id"] for c in checks}, "every check stays visible as a usage record"
    assert shown["person-hit-ended-6y"] == (False, [])
    assert shown["person-hit-open-basis-withheld"] == (False, [])
    assert shown["person-hit-open-basis-still-listed"] == (True, ["COURT_DISHONEST"])
    assert shown["person-two-hits-one-old"] == (True, ["COURT_DISHONEST"])
    assert shown["person-red-list-10y"] == (True, ["RED_LIST"])
    assert shown["org-hit-ended-10y"] == (True, ["SERIOUS_DISHONEST"])
