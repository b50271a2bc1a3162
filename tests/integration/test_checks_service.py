"""The check service on the real embedded stack (Apache Kafka, the stream worker, the sink into
chdb): a blacklist built through the stream answers status, checks and bulk checks; every check is
in ClickHouse's `checks`; an objection suspends and its resolution restores or deletes, and the
blacklist follows; repaired and expired subjects are not listed; `objection_deadlines` feeds the
compliance report."""
from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import httpx
import pytest
from confluent_kafka import Consumer, TopicPartition

from avro_schemas.codec import BLACKLIST_ENTRY, codec
from creditstream.auth.tokens import TokenStore
from creditstream.domain.event_id import event_id
from creditstream.embedded.stack import EmbeddedStack
from creditstream.topics import BLACKLIST, CHECKS, OBJECTIONS
from producers.credit_producer import CreditProducer, message_key
from producers.demo_feed import make_uscc
from sinks.clickhouse import connect
from tests.conftest import free_ports, stack_settings, wait_for
from tests.integration.test_end_to_end import read_topic
from tests.integration.test_stream_worker import firm_event

pytestmark = pytest.mark.integration
PERSON = "420202198807153314"


def person_event(number: str, doc: str) -> dict:
    now = datetime.now(timezone.utc)
    subject = {"type": "NATURAL_PERSON", "uscc": None, "id_type": "身份证", "id_number": number, "plate": None,
               "name": "王五", "sex": "男", "legal_representative": None, "other_ids": {}}
    return {"event_id": event_id("COURT-420200", "COURT-SXBZXR", "COURT_DISHONEST", message_key(subject), doc),
            "source_unit": "COURT-420200", "catalog": "COURT-SXBZXR", "category": "COURT_DISHONEST",
            "reporting_mode": "INTERFACE", "source_format": "json", "reported_at": int(now.timestamp() * 1000),
            "reported_by": "test", "source_ref": doc, "subject": subject,
            "decision": {"document_number": doc, "document_name": None, "authority": "黄石市中级人民法院",
                         "authority_code": None, "date": (now - timedelta(days=5)).strftime("%Y-%m-%d"),
                         "valid_from": None, "valid_until": None, "status": "0"},
            "matter": {"name": "失信被执行人", "kind": None, "cause": "有履行能力而拒不履行", "legal_basis": None,
                       "content": None}, "raw": {}}


def committed_to_end(settings, group: str, topics: list[str]) -> bool:
    """The sink has stored (and committed) everything on `topics`."""
    consumer = Consumer({"bootstrap.servers": settings.bootstrap_servers, "group.id": group})
    try:
        for topic in topics:
            parts = consumer.list_topics(topic, timeout=10).topics[topic].partitions
            committed = consumer.committed([TopicPartition(topic, p) for p in parts], timeout=10)
            for tp in committed:
                end = consumer.get_watermark_offsets(TopicPartition(topic, tp.partition), timeout=10)[1]
                if end > 0 and tp.offset < end:
                    return False
        return True
    finally:
        consumer.close()


def latest_entry(settings, key: str):
    found = "missing"
    for k, v in read_topic(settings.bootstrap_servers, BLACKLIST):
        if k.decode() == key:
            found = codec(BLACKLIST_ENTRY).decode(v) if v else None
    return found


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    (port,) = free_ports(1)
    settings = stack_settings(tmp_path_factory.mktemp("checks"), check_port=port)
    store = TokenStore.for_settings(settings)
    tokens = {name: store.create("FGW-420200" if name != "admin" else "PLATFORM", scopes, name)[1]
              for name, scopes in (("check", ["check"]), ("object", ["object"]), ("admin", ["admin"]),
                                   ("report", ["report"]))}
    rng = random.Random(8)
    restored, deleted, repaired, expired, clean = (make_uscc(rng, "420202") for _ in range(5))
    yesterday = (datetime.now(timezone.utc) - timedelta(days=1)).strftime("%Y-%m-%d")
    events = [firm_event("TAX-420200", "TAX-ZDSS", "TAX_VIOLATION", restored, "黄税稽罚〔2026〕11号"),
              firm_event("TAX-420200", "TAX-ZDSS", "TAX_VIOLATION", deleted, "黄税稽罚〔2026〕12号"),
              firm_event("TAX-420200", "TAX-ZDSS", "TAX_VIOLATION", repaired, "黄税稽罚〔2026〕13号"),
              firm_event("TAX-420200", "TAX-ZDSS", "TAX_VIOLATION", expired, "黄税稽罚〔2026〕14号", valid_until=yesterday),
              person_event(PERSON, "（2026）鄂02执88号")]
    events[0]["decision"]["status"] = "0"  # reported 正常: the restoring record must still count
    stack = EmbeddedStack(settings, checks=True).start()
    out = {"settings": settings, "subjects": dict(restored=restored, deleted=deleted, repaired=repaired,
                                                  expired=expired, clean=clean), "check_ids": []}
    try:
        with CreditProducer(settings.bootstrap_servers) as producer:
            for event in events:
                producer.send(event)
        api = httpx.Client(base_url=settings.check_url, timeout=10)
        out["api"], out["tokens"] = api, tokens
        headers = {"Authorization": f"Bearer {tokens['check']}"}

        def status(subject):
            response = api.get(f"/v1/subjects/{subject}/status", headers=headers)
            return response.json() if response.status_code == 200 else None

        wait_for(lambda: all((status(s) or {}).get("listed") for s in (restored, deleted, repaired, PERSON)), 120,
                 what="four subjects listed in the check API")
        out["status_person"] = api.get(f"/v1/subjects/{PERSON.lower()}/status", headers=headers)
        out["expired"] = status(expired)
        checks = [api.post("/v1/checks", headers=headers, json={"matter": {"kind": "行政审批", "reference": f"SP-{i}"},
                                                                 "subject": {"id": s}}).json()
                  for i, s in enumerate((restored, clean, PERSON))]
        out["checks"] = checks
        out["check_ids"] += [c["check_id"] for c in checks]
        bulk_subjects = [restored, deleted, PERSON, clean] + [make_uscc(rng) for _ in range(996)]
        bulk = api.post("/v1/checks/bulk", headers=headers, json={"matter": {"kind": "政府采购"},
                                                                   "subjects": bulk_subjects}).json()
        out["bulk"] = bulk
        out["check_ids"] += [r["check_id"] for r in bulk["results"] if "check_id" in r]
        out["feedback"] = api.post(f"/v1/checks/{checks[0]['check_id']}/feedback", headers=headers,
                                   json={"outcome": "refused", "measures": ["不予行政许可"]})

        # Objections: one restored, one deleted.
        objector = {"Authorization": f"Bearer {tokens['object']}"}
        filed = {}
        for subject in (restored, deleted):
            basis = status(subject)["lists"][0]["basis"][0]["event_id"]
            filed[subject] = api.post("/v1/objections", headers=objector,
                                      json={"subject": subject, "basis_event_id": basis, "reason": "罚款已缴清"}).json()
        out["under_objection"] = status(restored)
        wait_for(lambda: (latest_entry(settings, restored) or {}).get("status") == "SUSPENDED", 60,
                 what="the blacklist entry suspended by the stream")
        api.post(f"/v1/objections/{filed[restored]['objection_id']}/resolve", headers=objector,
                 json={"outcome": "restored", "reason": "异议不成立"})
        api.post(f"/v1/objections/{filed[deleted]['objection_id']}/forward", headers=objector, json={"reason": "转税务局核实"})
        api.post(f"/v1/objections/{filed[deleted]['objection_id']}/resolve", headers=objector,
                 json={"outcome": "deleted", "reason": "信源单位无法核实"})
        wait_for(lambda: (latest_entry(settings, restored) or {}).get("status") == "ACTIVE", 60,
                 what="the blacklist entry restored by the stream")
        wait_for(lambda: latest_entry(settings, deleted) is None, 60, what="a tombstone for the deleted record")
        out["after_restore"], out["after_delete"] = status(restored), status(deleted)

        repair = api.post(f"/v1/subjects/{repaired}/repair", headers={"Authorization": f"Bearer {tokens['admin']}"},
                          json={"decision_number": "黄信修〔2026〕21号", "repaired_document": "黄税稽罚〔2026〕13号",
                                "reason": "已履行并完成信用修复"})
        out["repair"] = repair
        wait_for(lambda: not (status(repaired) or {"listed": True})["listed"], 60, what="the repaired subject leaving")
        out["after_repair"] = status(repaired)
        out["objections"] = api.get("/v1/objections?state=all", headers=objector).json()["objections"]
        api.close()
        stack.processes.pop("checks").stop()  # its audit sender sends what the spool holds
        wait_for(lambda: committed_to_end(settings, settings.sink_group_id, [CHECKS, OBJECTIONS]), 60,
                 what="the sink storing every check and objection event")
    finally:
        stack.stop()
    return out


def test_status_check_and_bulk_answer_from_the_stream_built_blacklist(run):
    s = run["subjects"]
    person = run["status_person"]
    assert person.status_code == 200 and person.json()["listed"]
    assert PERSON not in person.text and person.json()["subject"]["id"] == "4202021988****3314"
    assert run["expired"]["listed"] is False
    assert [c["listed"] for c in run["checks"]] == [True, False, True]
    bulk = run["bulk"]
    assert (bulk["checked"], bulk["listed"], bulk["invalid"]) == (1000, 3, 0)
    listed = {r["position"] for r in bulk["results"] if r["listed"]}
    assert listed == {0, 1, 2}
    assert run["feedback"].status_code == 202
    assert s  # names used below


def test_objection_suspends_and_resolution_restores_or_deletes(run):
    under = run["under_objection"]
    assert under["status"] == "UNDER_OBJECTION" and not under["listed"]
    assert run["after_restore"]["listed"] and run["after_restore"]["status"] == "LISTED"
    assert run["after_delete"]["listed"] is False and run["after_delete"]["lists"] == []
    by_outcome = {o["outcome"]: o for o in run["objections"]}
    assert set(by_outcome) == {"RESTORED", "DELETED"}
    assert [h["transition"] for h in by_outcome["DELETED"]["history"]] == ["FILED", "FORWARDED", "RESOLVED"]


def test_repaired_subject_is_no_longer_listed(run):
    assert run["repair"].status_code == 202
    assert run["after_repair"]["listed"] is False


def test_every_check_and_objection_transition_is_in_clickhouse(run):
    settings = run["settings"]
    client = connect(settings)
    db = settings.clickhouse_database
    stored = dict(client.query(f"SELECT check_id, count() FROM {db}.checks GROUP BY check_id").result_rows)
    assert set(run["check_ids"]) <= set(stored) and all(stored[c] == 1 for c in run["check_ids"])
    persons = client.query(f"SELECT DISTINCT subject_key FROM {db}.checks WHERE subject_type = 'NATURAL_PERSON'").result_rows
    assert persons and all(k.startswith("pid:") for (k,) in persons)
    assert client.query(f"SELECT count() FROM {db}.check_feedback").result_rows[0][0] == 1
    transitions = client.query(f"SELECT transition FROM {db}.objection_events ORDER BY objection_id, sequence").result_rows
    assert sorted(t for (t,) in transitions) == sorted(["FILED", "RESOLVED", "FILED", "FORWARDED", "RESOLVED"])
    steps = client.query(f"SELECT objection_id, step, due_at, done_at FROM {db}.objection_deadlines").result_rows
    assert {step for _, step, _, _ in steps} == {"verify", "provider_answer", "correct_notify"} - {"correct_notify"}
    assert all(done is not None for *_, done in steps)
