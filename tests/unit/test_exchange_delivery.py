"""Delivery to peers: a peer endpoint that fails and then succeeds gets the same batch again (same
bytes, same checksum) and the receipt says so; nothing is skipped or sent twice; a directory peer
acknowledges by file; a peer gets only what it is entitled to."""
from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from creditstream.exchange import batch as B
from creditstream.exchange.peers import ExchangeConfig, Peer, PeerConfigError, load_peers
from creditstream.exchange.receipts import Receipts
from creditstream.exchange.send import Sender, write_ack
from tests.unit.test_exchange_national import assessed, sample_events

NOW = datetime.now(timezone.utc)


class FlakyPeer:
    """An upper platform's endpoint that answers 503 to the first `failures` batches, then stores."""

    def __init__(self, failures: int):
        self.failures, self.received, self.attempts = failures, [], 0
        peer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                peer.attempts += 1
                if peer.attempts <= peer.failures:
                    self.send_response(503)
                    self.end_headers()
                    return
                peer.received.append((dict(self.headers), body))
                answer = json.dumps({"batch_id": self.headers["X-Batch-Id"], "sha256": B.sha256(body),
                                     "accepted": True}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/v1/batches"

    def close(self):
        self.server.shutdown()


@pytest.fixture
def records():
    rows = [o.record for o in assessed(sample_events())]
    for r in rows:
        r["ingested_at"] = NOW - timedelta(minutes=5)
    return rows


def sender(tmp_path, peer: Peer, rows: list[dict]) -> tuple[Sender, Receipts, list]:
    calls = []

    def fetch(p, since, until):
        calls.append((since, until))
        return [r for r in rows if since <= r["ingested_at"] < until]

    receipts = Receipts(tmp_path / "receipts.sqlite")
    config = ExchangeConfig(platform="PLATFORM-420200", settle_seconds=60, peers={peer.code: peer})
    return Sender(config, receipts, tmp_path / "outbox", fetch), receipts, calls


def test_a_failed_delivery_is_retried_with_the_same_batch_until_the_peer_takes_it(tmp_path, records):
    endpoint = FlakyPeer(failures=3)
    try:
        peer = Peer(code="PLATFORM-420000", name="省平台", level="upper", categories=("LICENCE", "PENALTY"),
                    delivery="http", url=endpoint.url, retry_seconds=(0.0,))
        send, receipts, calls = sender(tmp_path, peer, records)
        first = send.run(now=NOW)[0]
        assert len(first.built) == 2 and set(first.failed) == set(first.built)  # licences, penalties
        assert {b["state"] for b in receipts.batches()} == {"failed"}
        assert "503" in receipts.summary()[peer.code]["failed"]["last_error"]

        second = send.run(now=NOW + timedelta(seconds=1))[0]   # the first batch fails once more, the other goes
        assert len(second.failed) == 1 and len(second.acknowledged) == 1 and second.built == []
        third = send.run(now=NOW + timedelta(seconds=2))[0]
        assert third.failed == {} and len(third.acknowledged) == 1

        rows = receipts.batches()
        assert {r["state"] for r in rows} == {"acknowledged"} and sum(r["count"] for r in rows) == len(records)
        assert sorted(r["attempts"] for r in rows) == [2, 3]
        # What arrived is what the manifest describes, once per batch.
        assert sorted(h["X-Batch-Id"] for h, _ in endpoint.received) == sorted(r["batch_id"] for r in rows)
        for headers, body in endpoint.received:
            assert B.sha256(body) == headers["X-Batch-Sha256"]
            assert json.loads(next(r for r in rows if r["batch_id"] == headers["X-Batch-Id"])["receipt"])["accepted"]
        # Periods follow each other without a gap: the second run asked from where the first ended.
        assert [c[0] for c in calls[1:]] == [c[1] for c in calls[:-1]]
        summary = receipts.summary()[peer.code]
        assert summary["acknowledged"]["records"] == len(records) and summary["failed"]["batches"] == 0
    finally:
        endpoint.close()


def test_a_failure_waits_for_its_back_off_and_is_never_skipped(tmp_path, records):
    endpoint = FlakyPeer(failures=100)
    try:
        peer = Peer(code="P", name="P", level="upper", categories=("PENALTY",), delivery="http", url=endpoint.url,
                    retry_seconds=(3600.0,))
        send, receipts, _ = sender(tmp_path, peer, records)
        send.run(now=NOW)
        assert send.run(now=NOW + timedelta(seconds=5))[0].failed == {}
        assert endpoint.attempts == 1, "not retried before its time"
        assert [b["state"] for b in receipts.batches()] == ["failed"]
    finally:
        endpoint.close()


def test_a_directory_peer_acknowledges_by_file(tmp_path, records):
    inbox = tmp_path / "inbox"
    peer = Peer(code="PLATFORM-420000", name="省平台", level="upper", categories=("LICENCE",), directory=inbox,
                format="json")
    send, receipts, _ = sender(tmp_path, peer, records)
    outcome = send.run(now=NOW)[0]
    assert len(outcome.delivered) == 1 and outcome.acknowledged == []
    manifest_path = next(inbox.glob(f"*{B.MANIFEST_SUFFIX}"))
    manifest = B.Manifest.from_json(manifest_path.read_bytes())
    assert B.verify(manifest, (inbox / manifest.file).read_bytes()) == []
    assert manifest.count == sum(1 for r in records if r["category"] == "LICENCE")
    write_ack(inbox, manifest_path, loaded=manifest.count, problems=[])
    assert send.run(now=NOW)[0].acknowledged == [manifest.batch_id]
    assert receipts.summary()[peer.code]["acknowledged"]["batches"] == 1


def test_a_peer_gets_what_it_is_entitled_to_once_and_never_its_own_records(records):
    peer = Peer(code="PLATFORM-420000", name="省平台", level="upper", categories=("PENALTY",),
                indicator_sets=("SGS-CF",))
    licence, penalty = records[0], records[2]
    assert not peer.entitled(licence)
    assert peer.entitled(penalty)
    assert not peer.entitled({**penalty, "duplicate_of": "another-event"})
    assert not peer.entitled({**penalty, "source_unit": "PLATFORM-420000"})
    assert not peer.entitled({**penalty, "catalog": "SAMR-CF"})


def test_a_wrong_peers_file_names_the_peer_and_key(tmp_path):
    path = tmp_path / "peers.toml"
    path.write_text('[platform]\ncode = "X"\n[[peers]]\ncode = "P"\ncategories = ["LICENCE"]\ndelivery = "ftp"\n')
    with pytest.raises(PeerConfigError, match=r"peer #1 \(P\): delivery must be one of"):
        load_peers(path)
    bundled = load_peers(base_dir=tmp_path)
    assert bundled.peers["PLATFORM-420000"].directory.is_relative_to(tmp_path)
