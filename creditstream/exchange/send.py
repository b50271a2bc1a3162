"""`creditstream exchange send`: for each peer, the records stored since its last period, as
batches in the layouts it reads, kept in the outbox and delivered; failed deliveries from earlier
runs are retried first. Reads records from the sink's API (the sink owns the ClickHouse data)."""
from __future__ import annotations

import json
import urllib.parse
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable, Iterable

from creditstream.exchange import batch as B
from creditstream.exchange import delivery
from creditstream.exchange.national import layout_for, render
from creditstream.exchange.peers import ExchangeConfig, Peer
from creditstream.exchange.receipts import Receipts, now_iso

START_OF_HISTORY = datetime(1970, 1, 1, tzinfo=timezone.utc)


def exchange_dir(data_dir: Path) -> Path:
    return Path(data_dir) / "exchange"


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def plan_batches(peer: Peer, records: Iterable[dict], *, sender: str, period_start: datetime, period_end: datetime,
                 opener: Callable[[str], str] | None = None) -> list[tuple[B.Manifest, bytes]]:
    """The period's batches for a peer: what it is entitled to, one layout per file, at most
    `batch_max_records` rows each. `opener` opens a sealed ID number, for a peer entitled to them."""
    by_layout: dict[str, list[dict]] = {}
    for record in records:
        if peer.entitled(record):
            by_layout.setdefault(layout_for(record["category"]).name, []).append(record)
    out = []
    for layout_name, rows in sorted(by_layout.items()):
        layout = layout_for(rows[0]["category"])
        for part, first in enumerate(range(0, len(rows), peer.batch_max_records), 1):
            chunk = rows[first:first + peer.batch_max_records]
            opened = None
            if peer.person_ids == "clear" and opener is not None:
                opened = {r["event_id"]: (opener(r["subject_sealed"]) if r.get("subject_sealed") else None,
                                          opener(r["legal_representative_id_sealed"])
                                          if r.get("legal_representative_id_sealed") else None) for r in chunk}
            out.append(B.build(render(chunk, layout, opened), peer.format, sender=sender, peer=peer.code,
                               period_start=period_start, period_end=period_end, part=part))
    return out


class SinkRecords:
    """Records of a period for a peer, from the sink's /v1/exchange/records, page by page."""

    def __init__(self, sink_client):
        self.sink = sink_client

    def __call__(self, peer: Peer, since: datetime, until: datetime) -> Iterable[dict]:
        after_at, after_id = START_OF_HISTORY, ""
        while True:
            query = urllib.parse.urlencode({"since": _iso(since), "until": _iso(until), "peer": peer.code,
                                            "categories": ",".join(peer.categories), "after_at": _iso(after_at),
                                            "after_id": after_id})
            page = self.sink.get(f"/v1/exchange/records?{query}", timeout=120)
            rows = page["records"]
            yield from rows
            if len(rows) < page["limit"]:
                return
            after_at, after_id = _instant(rows[-1]["ingested_at"]), rows[-1]["event_id"]


@dataclass
class PeerOutcome:
    peer: str
    built: list[str] = field(default_factory=list)       # batch ids built this run
    delivered: list[str] = field(default_factory=list)
    acknowledged: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # batch id -> error


class Sender:
    def __init__(self, config: ExchangeConfig, receipts: Receipts, outbox: Path,
                 fetch: Callable[[Peer, datetime, datetime], Iterable[dict]],
                 opener: Callable[[str], str] | None = None):
        self.config, self.receipts, self.outbox, self.fetch, self.opener = config, receipts, Path(outbox), fetch, opener

    def stored(self, peer: str, name: str) -> Path:
        return self.outbox / peer / name

    def build(self, peer: Peer, now: datetime | None = None) -> list[B.Manifest]:
        """Batches of the records stored since the peer's last period, up to `settle_seconds` ago,
        kept in the outbox and recorded as pending before any delivery."""
        now = now or datetime.now(timezone.utc)
        end = now - timedelta(seconds=self.config.settle_seconds)
        end = end.replace(microsecond=end.microsecond // 1000 * 1000)  # as stored: one period ends where the next starts
        previous = self.receipts.period_end(peer.code)
        start = _instant(previous) if previous else START_OF_HISTORY
        if end <= start:
            return []
        built = plan_batches(peer, self.fetch(peer, start, end), sender=self.config.platform,
                             period_start=start, period_end=end, opener=self.opener)
        for manifest, data in built:
            path = self.stored(peer.code, manifest.file)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            self.stored(peer.code, manifest.batch_id + B.MANIFEST_SUFFIX).write_bytes(manifest.to_json())
        manifests = [m for m, _ in built]
        self.receipts.record_period(peer.code, manifests, _iso(end))
        return manifests

    def deliver(self, peer: Peer, outcome: PeerOutcome, now: datetime | None = None) -> None:
        """Every pending batch, and every failed one whose next attempt has come."""
        now = now or datetime.now(timezone.utc)
        for row in self.receipts.due(peer.code, _iso(now)):
            try:
                manifest = B.Manifest.from_json(self.stored(peer.code, row["batch_id"] + B.MANIFEST_SUFFIX).read_bytes())
                data = self.stored(peer.code, row["file"]).read_bytes()
                if B.verify(manifest, data):
                    raise delivery.DeliveryFailed(f"the stored batch {row['file']} no longer matches its manifest")
                if peer.delivery == "http":
                    receipt = delivery.by_http(peer, manifest, data)
                    self.receipts.delivered(row["batch_id"], acknowledged=True, receipt=receipt)
                    outcome.acknowledged.append(row["batch_id"])
                else:
                    delivery.to_directory(peer, manifest, data)
                    self.receipts.delivered(row["batch_id"], acknowledged=False)
                outcome.delivered.append(row["batch_id"])
            except (delivery.DeliveryFailed, OSError) as exc:
                error = str(exc) if isinstance(exc, delivery.DeliveryFailed) else f"outbox: {exc}"
                attempts = self.receipts.attempts(row["batch_id"]) + 1
                self.receipts.failed(row["batch_id"], error, delivery.next_attempt_at(peer, attempts, now))
                outcome.failed[row["batch_id"]] = error

    def collect_acks(self, peer: Peer, outcome: PeerOutcome) -> None:
        if peer.delivery != "directory":
            return
        for row in self.receipts.awaiting_ack(peer.code):
            ack = delivery.acknowledgement(peer, row["batch_id"])
            if ack is not None:
                self.receipts.acknowledged(row["batch_id"], ack)
                outcome.acknowledged.append(row["batch_id"])

    def run(self, peers: list[str] | None = None, now: datetime | None = None) -> list[PeerOutcome]:
        outcomes = []
        for code, peer in self.config.peers.items():
            if peers and code not in peers:
                continue
            outcome = PeerOutcome(code)
            self.collect_acks(peer, outcome)
            outcome.built = [m.batch_id for m in self.build(peer, now)]
            self.deliver(peer, outcome, now)
            outcomes.append(outcome)
        return outcomes


def write_ack(directory: Path, manifest_path: Path, loaded: int, problems: list[str]) -> Path:
    """What a receiving platform writes once it has loaded a batch (`creditstream exchange ack`)."""
    manifest = B.Manifest.from_json(manifest_path.read_bytes())
    ack = {"batch_id": manifest.batch_id, "sha256": manifest.sha256, "count": manifest.count, "loaded": loaded,
           "problems": problems, "acknowledged_at": now_iso()}
    path = directory / f"{manifest.batch_id}{B.ACK_SUFFIX}"
    path.write_text(json.dumps(ack, ensure_ascii=False, indent=1), encoding="utf-8")
    return path
