"""Issue 14 on one real embedded stack (Apache Kafka, the stream worker, the sink into chdb, the
check service): a watch fires on entry and exit, signed, on the unit's topic and webhook, and only
for the watched subject; answers carry the snapshot version; a name finds its variant spelling;
the audit chain of every check verifies through the sink and a tampered row is found; no answered
check is lost or doubled when the audit sender or the whole service is killed; with the broker
gone the answers go stale."""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from confluent_kafka import Consumer, KafkaError, TopicPartition

from avro_schemas.codec import codec
from checks.watches import SIGNATURE_HEADER, TIMESTAMP_HEADER, WATCH_EVENT, verify_signature, watch_topic
from creditstream.auth.tokens import TokenStore
from creditstream.embedded.stack import EmbeddedStack, child_env
from creditstream.topics import CHECKS
from producers.credit_producer import CreditProducer
from producers.demo_feed import make_uscc
from sinks.clickhouse import connect
from tests.conftest import free_ports, stack_settings, wait_for
from tests.integration.test_checks_service import committed_to_end
from tests.integration.test_stream_worker import firm_event
from tests.unit.test_checks_watches import SECRET, Receiver

pytestmark = pytest.mark.integration
UNIT = "FGW-420200"


def topic_values(bootstrap: str, topic: str) -> list[dict]:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "t-watch", "enable.partition.eof": True,
                         "auto.offset.reset": "earliest"})
    try:
        parts = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        consumer.assign([TopicPartition(topic, p, 0) for p in parts])
        decode, out, ended = codec(WATCH_EVENT).decode, [], set()
        while len(ended) < len(parts):
            msg = consumer.poll(5)
            if msg is None:
                break
            if msg.error():
                if msg.error().code() == KafkaError._PARTITION_EOF:
                    ended.add(msg.partition())
                continue
            out.append(decode(msg.value()))
        return out
    finally:
        consumer.close()


def cli(settings, *args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "creditstream", *args], env=child_env(settings), capture_output=True,
                          text=True, timeout=120, cwd=os.getcwd())


def audit_senders(parent: int) -> list[int]:
    """Pids of the audit sender processes the check service ``parent`` started."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            cmdline = (stat.parent / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue
        if ppid == parent and b"checks.audit_sender" in cmdline:
            found.append(int(stat.parent.name))
    return found


def kill_while_checking(stack, settings, api, check, rng) -> dict:
    """Checks answered while the audit sender is SIGKILLed, then a bulk answered right before the
    check service itself (and its sender) is SIGKILLed: after its restart ClickHouse holds every
    answered check id exactly once."""
    answered: list[str] = []

    def single(n: int) -> None:
        for _ in range(n):
            answered.append(api.post("/v1/checks", headers=check, json={"matter": {"kind": "政府采购"},
                                                                      "subject": {"id": make_uscc(rng)}}).json()["check_id"])

    service = stack.processes["checks"]
    single(50)
    (sender,) = audit_senders(service.pid)
    os.kill(sender, signal.SIGKILL)
    single(100)  # while the service notices and starts another sender
    wait_for(lambda: len(audit_senders(service.pid)) == 1, 30, what="a new audit sender")
    single(50)
    starts = api.get("/metrics").text
    bulk = api.post("/v1/checks/bulk", headers=check, json={"matter": {"kind": "政府采购"},
                                                             "subjects": [make_uscc(rng) for _ in range(2000)]}).json()
    answered += [r["check_id"] for r in bulk["results"]]
    single(20)
    service.kill()  # the whole group, at once: nothing answered may be lost
    stack.restart("checks")
    wait_for(lambda: api.get("/readyz").status_code == 200, 60, what="the check service back")
    single(20)
    wait_all_checks_stored(api, settings, 90)
    return {"answered": answered, "metrics_before_kill": starts}


def audit_backlog(api) -> float:
    (line,) = [l for l in api.get("/metrics").text.splitlines() if l.startswith("creditstream_checks_audit_backlog_bytes ")]
    return float(line.split()[1])


def wait_all_checks_stored(api, settings, timeout: float) -> None:
    """The spool sent (the broker has every answered check), then the sink at the topic's end."""
    wait_for(lambda: audit_backlog(api) == 0, timeout, what="the audit spool sent")
    wait_for(lambda: committed_to_end(settings, settings.sink_group_id, [CHECKS]), timeout,
             what="the sink storing every check")


def stored_counts(client, settings, check_ids: list[str]) -> dict[str, int]:
    return dict(client.query(f"SELECT check_id, count() FROM {settings.clickhouse_database}.checks "
                             "WHERE check_id IN {ids:Array(String)} GROUP BY check_id",
                             parameters={"ids": check_ids}).result_rows)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    (port,) = free_ports(1)
    settings = stack_settings(tmp_path_factory.mktemp("provable"), check_port=port)
    store = TokenStore.for_settings(settings)
    check = {"Authorization": f"Bearer {store.create(UNIT, ['check'], 'window')[1]}"}
    admin = {"Authorization": f"Bearer {store.create('PLATFORM', ['admin'], 'admin')[1]}"}
    rng = random.Random(14)
    watched, unwatched = make_uscc(rng, "420202"), make_uscc(rng, "420202")
    receiver = Receiver()
    stack = EmbeddedStack(settings, checks=True).start()
    out = {"settings": settings, "watched": watched, "unwatched": unwatched}
    try:
        api = httpx.Client(base_url=settings.check_url, timeout=10)
        wait_for(lambda: api.get("/readyz").status_code == 200, 60, what="the check index ready")
        assert api.put("/v1/watches/webhook", headers=check, json={"url": receiver.url, "secret": SECRET}).status_code == 200
        assert api.post("/v1/watches", headers=check, json={"subjects": [watched], "label": "HT-14"}).status_code == 201
        with CreditProducer(settings.bootstrap_servers) as producer:
            producer.send(firm_event("TAX-420200", "TAX-ZDSS", "TAX_VIOLATION", watched, "黄税稽罚〔2026〕41号",
                                     name="黄石巨龙设备有限公司"))
            producer.send(firm_event("TAX-420200", "TAX-ZDSS", "TAX_VIOLATION", unwatched, "黄税稽罚〔2026〕42号",
                                     name="黄石大通机电有限公司"))
        wait_for(lambda: len(receiver.received) >= 1, 90, what="the entry reaching the webhook")

        def status(subject):
            return api.get(f"/v1/subjects/{subject}/status", headers=check).json()

        wait_for(lambda: status(unwatched).get("listed"), 60, what="the unwatched subject listed too")
        out["checks"] = [api.post("/v1/checks", headers=check, json={"matter": {"kind": "行政审批"},
                                                                    "subject": {"id": s}}).json()
                         for s in (watched, unwatched, make_uscc(rng))]
        out["by_name"] = api.post("/v1/checks", headers=check, json={"matter": {"kind": "行政审批"},
                                                                   "subject": {"name": "黄石大通机电有限责任公司"}}).json()
        out["masked"] = api.post("/v1/checks", headers=check, json={"matter": {"kind": "行政审批"},
                                                                  "subject": {"name": "黄石**设备有限公司"}}).json()
        out["blacklist_status"] = api.get("/v1/blacklist/status", headers=check).json()
        out["metrics"] = api.get("/metrics").text

        repair = api.post(f"/v1/subjects/{watched}/repair", headers=admin,
                          json={"decision_number": "黄信修〔2026〕41号", "reason": "已履行并完成信用修复"})
        assert repair.status_code == 202
        wait_for(lambda: len(receiver.received) >= 2, 90, what="the exit reaching the webhook")
        out["received"] = list(receiver.received)
        out["topic"] = topic_values(settings.bootstrap_servers, watch_topic(UNIT))
        out["watch_status"] = api.get("/v1/watches/status", headers=check).json()

        # The audit: every check stored, the chain intact; then a row changed behind the sink's back.
        wait_all_checks_stored(api, settings, 60)
        out["verify_ok"] = cli(settings, "audit", "verify", "--json")
        out["crash"] = kill_while_checking(stack, settings, api, check, rng)
        stack.processes.pop("sink").stop()
        client = connect(settings)
        out["crash"]["stored"] = stored_counts(client, settings, out["crash"]["answered"])
        client.command(f"ALTER TABLE {settings.clickhouse_database}.checks UPDATE listed = NOT listed "
                       f"WHERE check_id = '{out['checks'][1]['check_id']}' SETTINGS mutations_sync = 1")
        client.close()
        stack.start_sink()
        out["verify_tampered"] = cli(settings, "audit", "verify")
        out["cli_watches"] = cli(settings, "watches", "status", "--json")

        # The broker gone (frozen: it answers nothing), so the index can no longer be confirmed
        # current: answers say so. Thawed afterwards, so that everything stops in order.
        stack.kafka.process.signal(signal.SIGSTOP)
        try:
            wait_for(lambda: status(watched)["index"]["stale"], 60, what="answers marked stale")
            out["stale_status"] = api.get("/v1/blacklist/status", headers=check).json()
        finally:
            stack.kafka.process.signal(signal.SIGCONT)
        wait_for(lambda: not status(watched)["index"]["stale"], 60, what="answers fresh again")
        out["fresh_again"] = status(watched)["index"]
        api.close()
    finally:
        receiver.close()
        stack.stop()
    return out


def test_watch_fires_on_entry_and_exit_signed_and_only_for_the_watched_subject(run):
    events = []
    for headers, body in run["received"]:
        assert verify_signature(SECRET, headers[TIMESTAMP_HEADER], body, headers[SIGNATURE_HEADER])
        events.append(json.loads(body))
    assert [(e["subject_key"], e["change"]) for e in events] == [(run["watched"], "ENTERED"), (run["watched"], "LEFT")]
    assert [(e["subject_key"], e["change"]) for e in run["topic"]] == [(run["watched"], "ENTERED"),
                                                                      (run["watched"], "LEFT")]
    (unit,) = run["watch_status"]["units"]
    assert unit["outbox"] == {"delivered": 2} and unit["watches"] == 1
    assert run["cli_watches"].returncode == 0 and '"delivered": 2' in run["cli_watches"].stdout


def test_answers_carry_the_snapshot_version_and_name_fallback_finds_variants(run):
    listed, unwatched, clean = run["checks"]
    assert listed["listed"] and unwatched["listed"] and not clean["listed"]
    for answer in run["checks"]:
        assert answer["index"]["version"].startswith("credit.blacklist:0=") and answer["index"]["stale"] is False
    by_name = run["by_name"]
    assert by_name["match"] == "NAME" and by_name["listed"] is None
    assert by_name["candidates"][0]["key"] == run["unwatched"] and by_name["candidates"][0]["match"] == "NORMALISED"
    assert [c["key"] for c in run["masked"]["candidates"]] == [run["watched"]]
    assert run["blacklist_status"]["subjects"] >= 2 and run["blacklist_status"]["index"]["stale"] is False
    assert "creditstream_checks_index_stale 0.0" in run["metrics"]


def test_audit_chain_verifies_and_a_tampered_record_is_found(run):
    ok = run["verify_ok"]
    assert ok.returncode == 0, ok.stdout + ok.stderr
    report = json.loads(ok.stdout)
    assert report["broken"] is None and report["rows"] == 5
    tampered = run["verify_tampered"]
    assert tampered.returncode == 1, tampered.stdout + tampered.stderr
    assert run["checks"][1]["check_id"] in tampered.stdout and "changed" in tampered.stdout


def test_answers_go_stale_when_the_broker_is_gone(run):
    status = run["stale_status"]
    assert status["index"]["stale"] is True and status["index"]["age_ms"] > 0
    assert run["fresh_again"]["stale"] is False


def test_a_killed_check_service_loses_no_answered_check_and_a_killed_sender_doubles_none(run):
    crash = run["crash"]
    assert len(crash["answered"]) == len(set(crash["answered"])) == 2240
    missing = [c for c in crash["answered"] if c not in crash["stored"]]
    assert missing == [], f"{len(missing)} answered checks never reached ClickHouse"
    assert {n for n in crash["stored"].values()} == {1}, "a check stored twice"
    assert "creditstream_checks_audit_sender_starts 2.0" in crash["metrics_before_kill"]
