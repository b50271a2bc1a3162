"""The stream worker on the real embedded stack: killed mid-stream and restarted, it loses and
doubles nothing; subjects enter the blacklist and leave it by repair and by expiry; prohibited
attributes reach no topic past credit.inbound, no table and no log."""
from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pytest

from avro_schemas.codec import BLACKLIST_ENTRY, codec
from creditstream.domain.event_id import event_id
from creditstream.domain.identifiers import normalise_document_number
from creditstream.embedded.stack import EmbeddedStack, SinkClient
from creditstream.topics import INBOUND, topic_specs
from producers.credit_producer import CreditProducer, message_key
from producers.demo_feed import DemoFeed, make_uscc
from tests.unit.test_domain_identifiers import make_id_number
from sinks.clickhouse import connect
from tests.conftest import stack_settings, wait_for
from creditstream.keys import KeyRing
from tests.integration.test_end_to_end import read_topic

pytestmark = pytest.mark.integration

N_EVENTS = 20_000
MARKER = "PRIVATE-7f3a"  # carried by every prohibited value, so a scan can find any leak
PROHIBITED = {"宗教信仰": f"{MARKER}-佛教", "血型": f"{MARKER}-A", "婚姻状况": f"{MARKER}-已婚",
              "存款": f"{MARKER}-100万", "fingerprint": f"{MARKER}-fp", "纳税数额": f"{MARKER}-12"}


def firm_event(unit: str, catalog: str, category: str, uscc: str, doc: str, *, valid_until="2099-12-31",
               legal_basis=None, raw=None, name="黄石恒达建工有限公司") -> dict:
    now = datetime.now(timezone.utc)
    subject = {"type": "LEGAL_PERSON", "uscc": uscc, "id_type": None, "id_number": None, "plate": None,
               "name": name, "sex": None, "legal_representative": None, "other_ids": {}}
    return {
        "event_id": event_id(unit, catalog, category, message_key(subject), doc),
        "source_unit": unit, "catalog": catalog, "category": category, "reporting_mode": "INTERFACE",
        "source_format": "json", "reported_at": int(now.timestamp() * 1000), "reported_by": "test",
        "source_ref": doc, "subject": subject,
        "decision": {"document_number": doc, "document_name": None, "authority": "国家税务总局黄石市税务局",
                     "authority_code": None, "date": (now - timedelta(days=3)).strftime("%Y-%m-%d"),
                     "valid_from": None, "valid_until": valid_until, "status": None},
        "matter": {"name": "重大税收违法失信主体", "kind": None, "cause": "虚开增值税专用发票",
                   "legal_basis": legal_basis, "content": None},
        "raw": raw or {},
    }


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    settings = stack_settings(tmp_path_factory.mktemp("stream"))
    stack = EmbeddedStack(settings).start()
    try:
        yield stack
    finally:
        stack.stop()


@pytest.fixture(scope="module")
def expected():
    """What the earlier tests sent, for the ClickHouse check once the stack has stopped."""
    return {}


def stored_total(settings) -> int:
    return sum(u["records"] + u["rejected"] for u in SinkClient(settings).get("/v1/counts")["units"])


def latest_entries(settings, topic="credit.blacklist") -> dict[str, dict | None]:
    decode = codec(BLACKLIST_ENTRY).decode
    latest = {}
    for key, value in read_topic(settings.bootstrap_servers, topic):
        latest[key.decode()] = decode(value) if value is not None else None
    return latest


def test_worker_killed_mid_stream_loses_and_doubles_nothing(stack, expected):
    settings = stack.settings
    feed = DemoFeed(seed=41, bad_share=0.05)
    events = [feed.next_event() for _ in range(N_EVENTS)]
    distinct = len({e["event_id"] for e, _ in events})  # a repeated id is a replay: stored once
    before = stored_total(settings)
    with CreditProducer(settings.bootstrap_servers) as producer:
        for event, _ in events:
            producer.send(event)
    wait_for(lambda: stored_total(settings) - before > N_EVENTS // 5, 120, what="the worker to be mid-stream")
    stack.processes["worker"].kill()  # SIGKILL: an open transaction is left behind
    assert stored_total(settings) - before < distinct, "the kill came too late to prove anything"
    stack.start_worker()
    wait_for(lambda: stored_total(settings) - before >= distinct, 180, what="every event stored after restart")

    ids = [e["event_id"] for e, _ in events]
    valid = {e["event_id"] for e, ok in events if ok}
    client = SinkClient(settings)
    assert stored_total(settings) - before == distinct  # not one more: nothing doubled
    # The per-id check reads chdb, which the running sink owns: the module's last test does it.
    expected["records"] = valid
    expected["rejections"] = set(ids) - valid
    assert client.healthy()


def test_blacklist_entry_appears_then_leaves_by_repair_and_by_expiry(stack):
    settings = stack.settings
    rng = random.Random(5)
    repaired, expiring, kept = (make_uscc(rng, "420202") for _ in range(3))
    expires_on = (datetime.now(timezone.utc) + timedelta(days=10)).strftime("%Y-%m-%d")
    listings = [
        firm_event("TAX-420200", "TAX-ZDSS", "TAX_VIOLATION", repaired, "黄税稽罚〔2026〕1号"),
        firm_event("TAX-420200", "TAX-ZDSS", "TAX_VIOLATION", expiring, "黄税稽罚〔2026〕2号", valid_until=expires_on),
        firm_event("TAX-420200", "TAX-ZDSS", "TAX_VIOLATION", kept, "黄税稽罚〔2026〕3号"),
    ]
    with CreditProducer(settings.bootstrap_servers) as producer:
        for event in listings:
            producer.send(event)
    entries = wait_for(lambda: (lambda e: e if {repaired, expiring, kept} <= set(e) else None)(latest_entries(settings)),
                       120, what="three blacklist entries")
    assert all(entries[k]["status"] == "ACTIVE" for k in (repaired, expiring, kept))
    assert entries[repaired]["basis"][0]["document_number"] == normalise_document_number("黄税稽罚〔2026〕1号")

    # 信用修复 naming the decision it repairs.
    repair = firm_event("XYB-420200", "XYB-XF", "OTHER", repaired, "黄信修〔2026〕9号",
                        legal_basis="黄税稽罚〔2026〕1号")
    with CreditProducer(settings.bootstrap_servers) as producer:
        producer.send(repair)
    wait_for(lambda: latest_entries(settings).get(repaired, "missing") is None, 120,
             what="a tombstone for the repaired subject")
    history = [decode for key, decode in
               ((k.decode(), codec(BLACKLIST_ENTRY).decode(v) if v else None)
                for k, v in read_topic(settings.bootstrap_servers, "credit.blacklist")) if key == repaired]
    assert [h["status"] if h else None for h in history][-2:] == ["REPAIRED", None]

    # Forty days later the punishment period of the second subject has ended.
    stack.processes.pop("worker").stop()
    stack.settings = settings.model_copy(update={"worker_clock_offset_days": 40})
    try:
        stack.start_worker()
        wait_for(lambda: latest_entries(settings).get(expiring, "missing") is None, 120,
                 what="the expired subject's tombstone")
    finally:
        stack.processes.pop("worker").stop()
        stack.settings = settings
        stack.start_worker()
    final = latest_entries(settings)
    assert final[kept] is not None and final[kept]["status"] == "ACTIVE"


def person_event(number: str, doc: str, *, cause="拒不履行生效法律文书确定义务") -> dict:
    event = firm_event("COURT-420200", "COURT-SXBZXR", "COURT_DISHONEST", "", doc, raw=dict(PROHIBITED))
    event["subject"] = {"type": "NATURAL_PERSON", "uscc": None, "id_type": "身份证", "id_number": number,
                        "plate": None, "name": "王伟", "sex": "男", "legal_representative": None, "other_ids": {}}
    event["event_id"] = event_id("COURT-420200", "COURT-SXBZXR", "COURT_DISHONEST", message_key(event["subject"]), doc)
    event["matter"].update(name="失信被执行人", cause=cause)
    event["decision"]["authority"] = "黄石市中级人民法院"
    return event


def id_forms(number: str) -> list[bytes]:
    """The clear number and the runs of it that would still identify (birth date and sequence)."""
    return [number.encode(), number[6:].encode(), number[:14].encode()]


def test_prohibited_attributes_and_clear_id_numbers_reach_no_topic_past_inbound_and_no_log(stack, expected):
    settings = stack.settings
    rng = random.Random(9)
    person, rejected_person, representative = (make_id_number(rng, "420202") for _ in range(3))
    good = firm_event("SAMR-420200", "SAMR-CF", "PENALTY", make_uscc(rng, "420202"), "黄市监罚〔2026〕77号",
                      raw={**PROHIBITED, "CF_FR_ZJHM": representative, "备注": f"法定代表人身份证 {representative}"})
    broken = make_uscc(rng, "420202")
    bad = firm_event("SAMR-420200", "SAMR-CF", "PENALTY", broken[:-1] + ("0" if broken[-1] != "0" else "1"),
                     "黄市监罚〔2026〕78号", raw=dict(PROHIBITED))
    listed = person_event(person, "(2026)鄂02执77号")
    refused = person_event(rejected_person, "(2026)鄂02执78号", cause=None)
    before = stored_total(settings)
    with CreditProducer(settings.bootstrap_servers) as producer:
        for event in (good, bad, listed, refused):
            producer.send(event)
    wait_for(lambda: stored_total(settings) - before >= 4, 120, what="all four events stored")
    marker = MARKER.encode()
    numbers = [person, rejected_person, representative]
    secrets_ = [marker] + [form for n in numbers for form in id_forms(n)]
    inbound = read_topic(settings.bootstrap_servers, INBOUND)
    for secret in (marker, person.encode(), representative.encode()):
        assert any(secret in v for _, v in inbound), "a value never went in; the scan would prove nothing"
    for spec in topic_specs(settings.topic_partitions):
        if spec.name == INBOUND:
            continue
        for key, value in read_topic(settings.bootstrap_servers, spec.name):
            for secret in secrets_:
                assert secret not in (key or b"") and secret not in (value or b""), \
                    f"{secret[:4]!r}… reached {spec.name}"
    for log_file in settings.log_dir.glob("*.log*"):
        text = log_file.read_bytes()
        for secret in secrets_:
            assert secret not in text, f"a private value reached {log_file.name}"
    # the person is listed under the pseudonym, and the sealed number opens with the stack's keys
    keys = KeyRing.for_settings(settings).current()
    entry = latest_entries(settings)[keys.pseudonym(person)]
    assert entry["status"] == "ACTIVE" and entry["subject_masked"] == person[:10] + "****" + person[-4:]
    assert keys.open(entry["subject_sealed"]) == person
    expected["privacy"] = (good["event_id"], bad["event_id"])
    expected["numbers"] = numbers


def test_clickhouse_holds_each_event_once_and_no_prohibited_value(stack, expected):
    """After the stack stops: the per-id reconciliation of the kill test and a scan of every table."""
    settings = stack.settings
    stack.stop()
    client = connect(settings)
    db = settings.clickhouse_database
    records = dict(client.query(f"SELECT event_id, count() FROM {db}.records GROUP BY event_id").result_rows)
    rejections = dict(client.query(f"SELECT event_id, count() FROM {db}.rejections GROUP BY event_id").result_rows)
    assert max(records.values()) == 1 and max(rejections.values()) == 1
    assert expected["records"] <= set(records)
    assert expected["rejections"] <= set(rejections)
    assert not expected["records"] & set(rejections) and not expected["rejections"] & set(records)
    good, bad = expected["privacy"]
    dropped = client.query(f"SELECT prohibited_dropped FROM {db}.records WHERE event_id = %(e)s",
                           parameters={"e": good}).result_rows
    assert dropped and set(dropped[0][0]) == set(PROHIBITED)
    assert bad in rejections
    tables = [r[0] for r in client.query(
        "SELECT name FROM system.tables WHERE database = %(db)s AND engine NOT LIKE '%%View%%'",
        parameters={"db": db}).result_rows]
    secrets_ = [MARKER] + [form.decode() for n in expected["numbers"] for form in id_forms(n)]
    for table in tables:
        for secret in secrets_:
            hits = client.query(f"SELECT count() FROM {db}.`{table}` WHERE position(toString(tuple(*)), %(m)s) > 0",
                                parameters={"m": secret}).result_rows[0][0]
            assert hits == 0, f"a private value is stored in {table}"
    keys = KeyRing.for_settings(settings).current()
    sealed = client.query(f"SELECT subject_sealed, legal_representative_id_sealed FROM {db}.records "
                          f"WHERE subject_key = %(k)s OR legal_representative_id_key = %(r)s ORDER BY subject_key",
                          parameters={"k": keys.pseudonym(expected["numbers"][0]),
                                      "r": keys.pseudonym(expected["numbers"][2])}).result_rows
    opened = {keys.open(v) for row in sealed for v in row if v}
    assert opened == {expected["numbers"][0], expected["numbers"][2]}
