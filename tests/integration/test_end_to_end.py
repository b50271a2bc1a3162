"""One stack, end to end: events in, every one stored once or rejected with a reason."""
from __future__ import annotations

import os
import subprocess

import pytest
from confluent_kafka import Producer

from avro_schemas.codec import BLACKLIST_ENTRY, codec
from creditstream.domain.categories import is_blacklist_category
from creditstream.domain.identifiers import routing_key
from creditstream.embedded.process import port_open
from creditstream.faults.kafka_read import read_topic  # noqa: F401 (other tests import it from here)
from creditstream.embedded.stack import EmbeddedStack, SinkClient
from creditstream.topics import BLACKLIST, INBOUND
from producers.credit_producer import CreditProducer
from producers.demo_feed import DemoFeed
from sinks.clickhouse import connect
from tests.conftest import stack_settings, wait_for

pytestmark = pytest.mark.integration

N_EVENTS = 600
GARBAGE = [b"not avro at all", b"\x00\x00\x00\x00\x65\x02", b"\x00\x00\x00\x03\xe7hello"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """Start the stack, send a mix twice (the second time is a re-send), wait, stop. The tests
    then read the stopped stack's ClickHouse directory and Kafka state."""
    settings = stack_settings(tmp_path_factory.mktemp("e2e"))
    stack = EmbeddedStack(settings).start()
    feed = DemoFeed(seed=11, bad_share=0.1)
    events = [feed.next_event() for _ in range(N_EVENTS)]
    try:
        for _ in range(2):  # a unit re-sending the same file must double nothing
            with CreditProducer(settings.bootstrap_servers) as producer:
                for event, _valid in events:
                    producer.send(event)
        raw = Producer({"bootstrap.servers": settings.bootstrap_servers})
        for i, blob in enumerate(GARBAGE):
            raw.produce(INBOUND, value=blob, key=f"garbage-{i}".encode())
        assert raw.flush(10) == 0
        sink = SinkClient(settings)

        def stored_total():
            units = sink.get("/v1/counts")["units"]
            return sum(u["records"] + u["rejected"] for u in units)

        wait_for(lambda: stored_total() >= N_EVENTS + len(GARBAGE), 120, what="every event stored")
        blacklist = read_topic(settings.bootstrap_servers, BLACKLIST)
        pids = {name: p.pid for name, p in stack.processes.items()}
        pids["kafka"] = stack.kafka.process.pid
    finally:
        stack.stop()
    return {"settings": settings, "events": events, "blacklist": blacklist, "pids": pids}


def test_every_event_is_stored_once_or_rejected_with_reason(run):
    client = connect(run["settings"])
    db = run["settings"].clickhouse_database
    records = client.query(f"SELECT event_id, count() FROM {db}.records GROUP BY event_id").result_rows
    rejections = client.query(
        f"SELECT event_id, count(), any(reason_codes), any(origin_topic) FROM {db}.rejections GROUP BY event_id"
    ).result_rows
    stored = {eid: n for eid, n in records}
    rejected = {eid: (n, codes, topic) for eid, n, codes, topic in rejections}
    assert all(n == 1 for n in stored.values()), "a record was stored twice"
    assert all(n == 1 for n, _, _ in rejected.values()), "a rejection was stored twice"
    assert not set(stored) & set(rejected), "an event is both stored and rejected"
    for event, valid in run["events"]:
        if valid:
            assert event["event_id"] in stored, f"valid event {event['event_id']} missing from records"
        else:
            assert event["event_id"] in rejected, f"invalid event {event['event_id']} missing from rejections"
            _, codes, topic = rejected[event["event_id"]]
            assert codes and set(codes) <= {"invalid_uscc", "invalid_id_number"}
            assert topic == INBOUND
    expected_ids = {e["event_id"] for e, _ in run["events"]}
    assert len(stored) + len(rejected) == len(expected_ids) + len(GARBAGE)
    undecodable = [eid for eid, (_, codes, _) in rejected.items() if codes == ["undecodable"]]
    assert len(undecodable) == len(GARBAGE)
    assert all(eid.startswith(f"{INBOUND}-") for eid in undecodable)  # topic-partition-offset


def test_blacklist_topic_holds_dishonest_subjects_by_subject_id(run):
    expected = {routing_key(e["subject"]) for e, valid in run["events"]
                if valid and is_blacklist_category(e["category"])}
    assert expected, "the feed produced no blacklist category; the test would prove nothing"
    decode = codec(BLACKLIST_ENTRY).decode
    seen = {}
    for key, value in run["blacklist"]:
        entry = decode(value)
        assert key.decode() == entry["subject_key"]
        assert entry["status"] == "ACTIVE" and entry["lists"]
        seen[entry["subject_key"]] = entry
    assert set(seen) == expected


def test_stop_leaves_no_process_and_no_port(run):
    s = run["settings"]
    for name, pid in run["pids"].items():
        assert not os.path.exists(f"/proc/{pid}") or _is_zombie(pid), f"{name} (pid {pid}) still running"
    for port in (s.kafka_port, s.kafka_controller_port, s.sink_port):
        assert not port_open("127.0.0.1", port), f"port {port} still open"
    java = subprocess.run(["pgrep", "-f", str(s.data_dir)], capture_output=True, text=True).stdout.split()
    assert java == [], f"processes still using the data directory: {java}"


def _is_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] == "Z"
    except FileNotFoundError:
        return True
