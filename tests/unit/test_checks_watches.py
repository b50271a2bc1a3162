"""Watch lists without a broker: the rules (change, back-off, signature, topic names), and the
Watches component with an index in memory, a producer that only encodes and a local HTTP receiver:
a change of a watched subject is published and posted signed; an unwatched one is not; a failing
webhook is retried with back-off and its state shown."""
from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from checks.watches import (CHANGED, ENTERED, LEFT, SIGNATURE_HEADER, TIMESTAMP_HEADER, WATCH_EVENT, Watches,
                            WatchStore, backoff_s, change_of, verify_signature, watch_topic)
from tests.unit.test_checks_api import Producer, basis
from tests.conftest import wait_for

SECRET = "s3cret-key-of-the-unit-0001"


def test_rules():
    assert change_of([], ["TAX_VIOLATION"]) == ENTERED
    assert change_of(["TAX_VIOLATION"], []) == LEFT
    assert change_of(["A"], ["A", "B"]) == CHANGED and change_of(["A"], ["A"]) is None
    assert [backoff_s(n) for n in (1, 2, 3, 4)] == [0.5, 1, 2, 4] and backoff_s(40) == 600
    assert watch_topic("FGW-420200") == "credit.watch.FGW-420200"
    assert watch_topic("发改委") != watch_topic("财政局") and watch_topic("发改委").startswith("credit.watch.___-")


class Index:
    def __init__(self):
        self.entries = {}

    def get(self, key):
        return self.entries.get(key)

    def version(self, state=None):
        return "credit.blacklist:0=1"


def entry(key, lists=("TAX_VIOLATION",)):
    return {"subject_key": key, "subject_type": "LEGAL_PERSON", "subject_name": "黄石恒达建工有限公司",
            "basis": [basis(f"e-{key}-{c}", c) for c in lists], "status": "ACTIVE"}


class Receiver:
    """A webhook receiver on loopback: records each request; answers 503 the first `fail` times."""

    def __init__(self, fail: int = 0):
        self.received, self.fail = [], fail
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if outer.fail > 0:
                    outer.fail -= 1
                    self.send_response(503)
                else:
                    outer.received.append((dict(self.headers), body))
                    self.send_response(204)
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"

    def close(self):
        self.server.shutdown()


@pytest.fixture
def setup(tmp_path):
    index, producer = Index(), Producer(WATCH_EVENT)
    producer.topic = None
    watches = Watches(WatchStore(tmp_path / "watches.sqlite"), lambda: index, producer).start()
    yield index, producer, watches
    watches.stop()


def test_a_watched_subject_entering_and_leaving_is_published_and_posted_signed(setup):
    index, producer, watches = setup
    receiver = Receiver()
    try:
        watches.set_webhook("FGW-420200", receiver.url, SECRET)
        watches.add("FGW-420200", "A", "A", "合同 HT-1")
        index.entries["A"], index.entries["B"] = entry("A"), entry("B")
        watches.on_changes({"A": (None, index.entries["A"]), "B": (None, index.entries["B"])}, None)
        wait_for(lambda: len(receiver.received) == 1, 10, what="the entry posted")
        watches.on_changes({"A": (index.entries.pop("A"), None)}, None)
        wait_for(lambda: len(receiver.received) == 2, 10, what="the exit posted")
        events = []
        for headers, body in receiver.received:
            assert verify_signature(SECRET, headers[TIMESTAMP_HEADER], body, headers[SIGNATURE_HEADER])
            assert not verify_signature("another-secret-000000", headers[TIMESTAMP_HEADER], body, headers[SIGNATURE_HEADER])
            events.append(json.loads(body))
        assert [(e["subject_key"], e["change"], e["lists_after"]) for e in events] == [
            ("A", ENTERED, ["TAX_VIOLATION"]), ("A", LEFT, [])]
        assert [(e["subject_key"], e["change"]) for e, _ in producer.sent] == [("A", ENTERED), ("A", LEFT)]
        watches.on_changes({"A": (None, None)}, None)  # the same state again: nothing new
        status = watches.status("FGW-420200")["units"][0]
        assert status["outbox"] == {"delivered": 2} and status["watches"] == 1
    finally:
        receiver.close()


def test_a_failing_webhook_is_retried_with_back_off(setup):
    index, _producer, watches = setup
    receiver = Receiver(fail=2)
    try:
        watches.set_webhook("FGW-420200", receiver.url, SECRET)
        watches.add("FGW-420200", "A", "A", None)
        index.entries["A"] = entry("A")
        watches.on_changes({"A": (None, index.entries["A"])}, None)
        wait_for(lambda: receiver.received, 15, what="delivery after two refusals")
        (recent,) = watches.status()["units"][0]["recent"]
        assert recent["state"] == "delivered" and recent["attempts"] == 3
    finally:
        receiver.close()


def test_changes_while_down_are_found_at_start_and_removal_stops_them(setup):
    index, producer, watches = setup
    watches.add("FGW-420200", "A", "A", None)
    index.entries["A"] = entry("A")
    watches.recheck_all()
    wait_for(lambda: producer.sent, 10, what="the event published")
    assert watches.status()["units"][0]["outbox"] == {"none": 1}  # no webhook: published only
    assert watches.remove("FGW-420200", "A") and not watches.remove("FGW-420200", "A")
    watches.on_changes({"A": (index.entries.pop("A"), None)}, None)
    time.sleep(0.2)
    assert len(producer.sent) == 1
