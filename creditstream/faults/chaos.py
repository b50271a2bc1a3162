"""Fault injection over the real embedded stack: a demo feed flows through Apache Kafka, the worker,
the sink and chdb while the worker, the sink and the broker are SIGKILLed at random points and
restarted (the broker keeps its log on disk), the sink dies between insert and commit, and
ClickHouse refuses writes for a while under a burst. At the end every event id is reconciled:
ClickHouse holds exactly the records and rejections the pure rules compute from the inputs, each
once; the blacklist (topic, ClickHouse and the check API) equals the one the rules compute.

`creditstream chaos` runs it; tests/faults runs a short one. The harness is the supervisor a
deployment has (compose restarts what exits): any process found dead is restarted and counted.
"""
from __future__ import annotations

import json
import random
import re
import threading
import time
import urllib.request
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from avro_schemas.codec import BLACKLIST_ENTRY, CREDIT_EVENT, REJECTION, VALIDATED_RECORD, codec
from creditstream.domain.catalog import load_catalog
from creditstream.embedded.stack import EmbeddedStack, SinkClient
from creditstream.faults.kafka_read import read_topic
from creditstream.keys import KeyRing
from creditstream.settings import Settings
from creditstream.topics import BLACKLIST, INBOUND, RECORDS, REJECTED
from producers.credit_producer import CreditProducer
from producers.demo_feed import DemoFeed
from sinks.faults import CLICKHOUSE_DOWN, KILL_AFTER_INSERT, FaultPoints
from stream_apps.processing import BatchProcessor, InboundMessage

TARGETS = ("worker", "sink", "broker", "sink-after-insert")


@dataclass
class ChaosConfig:
    records: int = 200_000
    kills: int = 20
    burst: int = 100_000          # published while ClickHouse is down (0: no backpressure phase)
    outage_seconds: float = 30.0
    seed: int = 12
    feed_rate: float = 0.0        # events a second for the main feed; 0: as fast as the broker takes them
    targets: tuple[str, ...] = TARGETS
    bad_share: float = 0.05
    settle_timeout: float = 600.0  # for everything to be stored after the last fault


@dataclass
class FaultRecord:
    target: str
    at_stored: int                 # rows stored when it struck
    restart_seconds: float         # until the process answered again
    recovery_seconds: float | None  # until stored rows grew past the count at the kill (None: nothing was pending)


@dataclass
class ChaosReport:
    config: dict
    events: int = 0
    distinct_ids: int = 0
    expected_records: int = 0
    expected_rejections: int = 0
    faults: list[FaultRecord] = field(default_factory=list)
    secondary_restarts: Counter = field(default_factory=Counter)  # processes found dead and restarted
    resent_after_failed_delivery: int = 0
    backpressure: dict = field(default_factory=dict)
    stored_records: int = 0
    stored_rejections: int = 0
    missing: dict = field(default_factory=dict)    # table -> ids expected and absent
    doubled: dict = field(default_factory=dict)    # table -> ids stored more than once
    unexpected: dict = field(default_factory=dict)  # table -> ids stored and not expected
    blacklist_expected: int = 0
    blacklist_mismatch: dict = field(default_factory=dict)  # where -> subject keys that differ
    check_api: dict = field(default_factory=dict)
    settle_seconds: float = 0.0
    wall_seconds: float = 0.0

    @property
    def lost(self) -> int:
        return sum(len(v) for v in self.missing.values())

    @property
    def ok(self) -> bool:
        return (not self.missing and not self.doubled and not self.unexpected and not self.blacklist_mismatch
                and not self.check_api.get("disagree") and self.faults_done)

    @property
    def faults_done(self) -> bool:
        return len(self.faults) >= self.config["kills"]

    def to_dict(self) -> dict:
        d = asdict(self)
        d["secondary_restarts"] = dict(self.secondary_restarts)
        d.update(lost=self.lost, ok=self.ok)
        return d


# ------------------------------------------------------------------------------- what must come out
@dataclass
class Expected:
    records: set[str]
    rejections: set[str]
    blacklist: dict[str, dict]        # subject key -> latest entry, of subjects still on it
    identifiers: dict[str, str]       # subject key -> the identifier a check is asked with


def expected_outcome(events: list[dict], settings: Settings, now: datetime | None = None) -> Expected:
    """The pure rules over the inputs in publication order, with the stack's keys. One partition
    stands for all: the rules' state is per subject and a subject's events share a partition."""
    keys = KeyRing.for_settings(settings)
    processor = BatchProcessor(catalog=load_catalog(settings.worker_unit_catalog or None), pseudonyms=keys.current)
    encode, decode_record = codec(CREDIT_EVENT).encode, codec(VALIDATED_RECORD).decode
    decode_rejection, decode_entry = codec(REJECTION).decode, codec(BLACKLIST_ENTRY).decode
    now = now or datetime.now(timezone.utc)
    records, rejections, blacklist, identifiers = set(), set(), {}, {}
    by_id = {e["event_id"]: e for e in events}
    for start in range(0, len(events), 5000):
        chunk = [InboundMessage(INBOUND, 0, start + i, encode(e)) for i, e in enumerate(events[start:start + 5000])]
        for message in processor.process(chunk, now):
            if message.topic == RECORDS:
                record = decode_record(message.value)
                records.add(record["event_id"])
                subject = by_id[record["event_id"]]["subject"]
                identifier = subject.get("uscc") or subject.get("id_number") or ""
                if "*" not in identifier:  # a masked number identifies nobody: a check cannot ask by it
                    identifiers[record["subject_key"]] = identifier
            elif message.topic == REJECTED:
                rejections.add(decode_rejection(message.value)["event_id"])
            elif message.topic == BLACKLIST:
                key = message.key.decode()
                if message.value is None:
                    blacklist.pop(key, None)
                else:
                    blacklist[key] = decode_entry(message.value)
        processor.tables.commit()
    return Expected(records, rejections, blacklist, identifiers)


# ---------------------------------------------------------------------------------------- the run
def _metric_sum(text: str, name: str) -> float:
    return sum(float(v) for v in re.findall(rf"^{re.escape(name)}(?:\{{[^}}]*\}})? (\S+)$", text, re.M))


def _rss_bytes(pid: int | None) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except (OSError, TypeError):
        pass
    return 0


class Chaos:
    def __init__(self, settings: Settings, config: ChaosConfig, log=print):
        self.settings = settings
        self.config = config
        self.log = log
        self.rng = random.Random(config.seed)
        self.stack = EmbeddedStack(settings, log=lambda _m: None, checks=True)
        self.faults = FaultPoints(settings.sink_fault_dir)
        self.report = ChaosReport(config=asdict(config))
        self._failed: list[dict] = []
        self.published_ids = 0  # distinct ids of the feeds started so far
        self._lock = threading.Lock()

    # -- observation ----------------------------------------------------------------------------
    def stored(self) -> int:
        try:
            units = SinkClient(self.settings).get("/v1/counts", timeout=10)["units"]
        except OSError:
            return -1  # the sink is down: nobody can say
        return sum(u["records"] + u["rejected"] for u in units)

    def sink_metrics(self) -> str:
        try:
            with urllib.request.urlopen(self.settings.sink_url + "/metrics", timeout=5) as response:
                return response.read().decode()
        except OSError:
            return ""

    def _wait(self, predicate, timeout: float, interval: float = 0.25):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(interval)
        return None

    # -- supervision ----------------------------------------------------------------------------
    def _worker_ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.settings.worker_web_port}/healthz", timeout=2) as r:
                return json.loads(r.read()).get("ready", False)
        except (OSError, ValueError):
            return False

    def restart(self, name: str) -> None:
        if name == "broker":
            self.stack.kafka.start(log=lambda _m: None)
        elif name == "sink":
            self.stack.processes.pop("sink", None)
            self.stack.start_sink(timeout=120)
        elif name == "worker":
            self.stack.processes.pop("worker", None)
            self.stack.start_worker()
            self._wait(self._worker_ready, 120)

    def supervise(self) -> None:
        """Restart whatever died on its own (a worker whose transaction the broker's restart
        fenced exits by design: its supervisor starts it again)."""
        if not self.stack.kafka.process.alive():
            self.report.secondary_restarts["broker"] += 1
            self.restart("broker")
        for name in ("sink", "worker", "checks"):
            proc = self.stack.processes.get(name)
            if proc is not None and not proc.alive():
                self.report.secondary_restarts[name] += 1
                if name == "checks":
                    self.stack.processes.pop("checks")
                    self.stack.start_checks()
                else:
                    self.restart(name)

    def strike(self, target: str) -> FaultRecord:
        before = self.stored()
        started = time.monotonic()
        if target == "sink-after-insert":
            self.faults.switch(KILL_AFTER_INSERT)
            sink = self.stack.processes["sink"]
            if not self._wait(lambda: not sink.alive(), 60):
                self.faults.switch(KILL_AFTER_INSERT, False)  # nothing was inserted meanwhile: kill it anyway
                sink.kill()
            target_name = "sink"
        else:
            target_name = target
            (self.stack.kafka if target == "broker" else self.stack.processes[target]).kill()
        time.sleep(self.rng.uniform(0.0, 2.0))  # down for a while, as a crash would be
        killed_at = time.monotonic()
        self.restart(target_name)
        restart = time.monotonic() - killed_at
        recovery = None
        if before >= 0 and self.pending_work(before):
            grew = self._wait(lambda: self.stored() > before, 180)
            recovery = time.monotonic() - started if grew else None
        self.supervise()
        return FaultRecord(target, before, round(restart, 2), None if recovery is None else round(recovery, 2))

    def pending_work(self, stored: int) -> bool:
        """Whether anything published so far is still to be stored."""
        return stored < self.published_ids

    # -- feeding --------------------------------------------------------------------------------
    def _on_failed(self, event: dict):
        def callback(err) -> None:
            if err is not None:
                with self._lock:
                    self._failed.append(event)
        return callback

    def publish(self, events: list[dict], rate: float = 0.0) -> None:
        """Every event acknowledged by the broker: a failed delivery (the broker was down past the
        producer's patience) is sent again — event ids are deterministic, so a resend is a replay."""
        pending = events
        while pending:
            with CreditProducer(self.settings.bootstrap_servers, **{"message.timeout.ms": 120_000}) as producer:
                began = time.monotonic()
                for n, event in enumerate(pending, 1):
                    producer.send(event, on_delivery=self._on_failed(event))
                    if rate and n % 100 == 0:
                        ahead = n / rate - (time.monotonic() - began)
                        if ahead > 0:
                            time.sleep(ahead)
                producer.flush_all(timeout=300)
            with self._lock:
                pending, self._failed = self._failed, []
            self.report.resent_after_failed_delivery += len(pending)

    # -- the backpressure phase -------------------------------------------------------------------
    def backpressure(self, burst: list[dict]) -> None:
        self._wait(lambda: self.supervise() or self.stored() >= self.report.distinct_ids - len(burst), 600)
        sink = self.stack.processes["sink"]
        baseline_rss = _rss_bytes(sink.pid)
        rows_before = _metric_sum(self.sink_metrics(), "creditstream_sink_rows_stored_total")
        self.faults.switch(CLICKHOUSE_DOWN)
        self.published_ids = self.report.distinct_ids
        down_at = time.monotonic()
        publisher = threading.Thread(target=self.publish, args=(burst,), daemon=True)
        publisher.start()
        peak_rss = peak_lag = peak_buffered = 0.0
        unavailable_seen = False
        # Down for outage_seconds at least, and until the burst has reached the sink's topics (the
        # worker needs a while for it): an outage nobody wrote into would prove nothing.
        while (time.monotonic() - down_at < self.config.outage_seconds or publisher.is_alive()
               or (peak_lag == 0 and time.monotonic() - down_at < 180)):
            # A worker may end itself in this phase too (its watchdog, after the broker's restart):
            # the supervisor keeps running, as it does in a deployment.
            self.supervise()
            text = self.sink_metrics()
            peak_rss = max(peak_rss, _rss_bytes(sink.pid))
            peak_lag = max(peak_lag, _metric_sum(text, "creditstream_sink_lag_messages"))
            peak_buffered = max(peak_buffered, _metric_sum(text, "creditstream_sink_buffered_messages"))
            unavailable_seen |= _metric_sum(text, "creditstream_sink_clickhouse_unavailable") == 1.0
            time.sleep(0.5)
        # /v1/counts reads ClickHouse, which is down: the sink's own counter says what it stored
        stored_during = _metric_sum(self.sink_metrics(), "creditstream_sink_rows_stored_total") - rows_before
        self.faults.switch(CLICKHOUSE_DOWN, False)
        back_at = time.monotonic()
        done = self._wait(lambda: self.supervise() or self.stored() >= self.report.distinct_ids,
                          self.config.settle_timeout)
        recovered = time.monotonic() - back_at
        text = self.sink_metrics()
        self.report.backpressure = {
            "burst": len(burst), "outage_seconds": round(back_at - down_at, 1),
            "stored_during_outage": int(stored_during), "unavailable_gauge_seen": unavailable_seen,
            "peak_lag_messages": int(peak_lag), "peak_buffered_messages": int(peak_buffered),
            "sink_rss_before_mb": round(baseline_rss / 2**20, 1), "sink_rss_peak_mb": round(peak_rss / 2**20, 1),
            "recovery_seconds": round(recovered, 1) if done else None,
            "lag_after_recovery": int(_metric_sum(text, "creditstream_sink_lag_messages")) if done else None,
            "unavailable_after_recovery": _metric_sum(text, "creditstream_sink_clickhouse_unavailable"),
        }

    # -- the whole run ----------------------------------------------------------------------------
    def run(self) -> ChaosReport:
        cfg = self.config
        began = time.monotonic()
        feed = DemoFeed(seed=cfg.seed, bad_share=cfg.bad_share)
        events = [feed.next_event()[0] for _ in range(cfg.records + cfg.burst)]
        main, burst = events[:cfg.records], events[cfg.records:]
        self.report.events = len(events)
        self.report.distinct_ids = len({e["event_id"] for e in events})
        self.log(f"starting the embedded stack in {self.settings.data_dir}")
        self.stack.start()
        try:
            expected = expected_outcome(events, self.settings)  # after start: the stack made the keys
            self.report.expected_records, self.report.expected_rejections = len(expected.records), len(expected.rejections)
            self.report.blacklist_expected = len(expected.blacklist)
            self.log(f"{len(events):,} events ({self.report.distinct_ids:,} ids): {len(expected.records):,} records, "
                     f"{len(expected.rejections):,} rejections, {len(expected.blacklist):,} subjects listed")
            self.published_ids = len({e["event_id"] for e in main})
            feeder = threading.Thread(target=self.publish, args=(main, cfg.feed_rate), daemon=True)
            feeder.start()
            targets = list(cfg.targets)
            for n in range(cfg.kills):
                # a random point: some progress since the last fault, then a random pause
                mark = max(self.stored(), 0)
                self._wait(lambda: self.stored() > mark or not (feeder.is_alive() or self.pending_work(mark)), 60)
                time.sleep(self.rng.uniform(0.2, 2.5))
                target = targets[n % len(targets)] if n < len(targets) else self.rng.choice(targets)
                fault = self.strike(target)
                self.report.faults.append(fault)
                self.log(f"fault {n + 1}/{cfg.kills}: {target} killed at {fault.at_stored:,} stored; back in "
                         f"{fault.restart_seconds:.1f} s, progress again after {fault.recovery_seconds} s")
            feeder.join()
            self.supervise()
            if burst:
                self.log(f"ClickHouse down for {cfg.outage_seconds:.0f} s under a burst of {len(burst):,}")
                self.backpressure(burst)
                self.log(f"backpressure: {self.report.backpressure}")
            settle_from = time.monotonic()
            self._wait(lambda: self.supervise() or self.stored() >= self.report.distinct_ids, cfg.settle_timeout, 1.0)
            self._wait(lambda: self._blacklist_topic() == set(expected.blacklist), 120, 1.0)
            self.report.settle_seconds = round(time.monotonic() - settle_from, 1)
            time.sleep(2 * self.settings.sink_batch_seconds + 1)  # anything doubled would be stored by now
            self.compare_blacklist_topic(expected)
            self.compare_check_api(expected)
        finally:
            self.stack.stop()
        self.reconcile(expected)
        self.report.wall_seconds = round(time.monotonic() - began, 1)
        return self.report

    # -- reconciliation -------------------------------------------------------------------------------
    def _blacklist_topic(self) -> set[str]:
        latest: dict[str, bool] = {}
        for key, value in read_topic(self.settings.bootstrap_servers, BLACKLIST):
            latest[key.decode()] = value is not None
        return {k for k, listed in latest.items() if listed}

    def compare_blacklist_topic(self, expected: Expected) -> None:
        found = self._blacklist_topic()
        diff = sorted(found ^ set(expected.blacklist))
        if diff:
            self.report.blacklist_mismatch["topic"] = diff[:50]

    def compare_check_api(self, expected: Expected, sample: int = 200) -> None:
        """Ask the check API about listed subjects and about subjects with records but no listing."""
        from creditstream.auth.tokens import TokenStore

        _, token = TokenStore.for_settings(self.settings).create("FGW-420200", ["check"], "chaos reconciliation")
        listed = sorted(expected.blacklist)
        unlisted = sorted(set(expected.identifiers) - set(expected.blacklist))
        picks = self.rng.sample(listed, min(sample, len(listed))) + self.rng.sample(unlisted, min(sample, len(unlisted)))
        base = self.settings.check_url

        def ready() -> bool:
            try:
                with urllib.request.urlopen(base + "/readyz", timeout=5) as r:
                    return r.status == 200
            except OSError:
                return False

        self._wait(ready, 60)
        disagree, asked = [], 0
        for key in picks:
            identifier = expected.identifiers.get(key)
            if not identifier:
                continue
            request = urllib.request.Request(f"{base}/v1/subjects/{urllib.request.quote(identifier)}/status",
                                             headers={"Authorization": f"Bearer {token}"})
            try:
                with urllib.request.urlopen(request, timeout=10) as response:
                    answer = json.loads(response.read())
            except OSError as exc:
                disagree.append(f"{key}: {exc}")
                continue
            asked += 1
            if bool(answer.get("listed")) != (key in expected.blacklist):
                disagree.append(key)
        self.report.check_api = {"asked": asked, "listed_asked": sum(1 for k in picks if k in expected.blacklist),
                                 "disagree": disagree[:50]}

    def reconcile(self, expected: Expected) -> None:
        from sinks.clickhouse import connect

        client = connect(self.settings)
        db = self.settings.clickhouse_database
        try:
            for table, want in (("records", expected.records), ("rejections", expected.rejections)):
                counts = dict(client.query(f"SELECT event_id, count() FROM {db}.{table} GROUP BY event_id").result_rows)
                setattr(self.report, f"stored_{table}", len(counts))
                missing, unexpected = want - set(counts), set(counts) - want
                doubled = [k for k, c in counts.items() if c > 1]
                for name, ids in (("missing", missing), ("unexpected", unexpected), ("doubled", doubled)):
                    if ids:
                        getattr(self.report, name)[table] = sorted(ids)[:50] + ([f"... {len(ids)} in all"]
                                                                                if len(ids) > 50 else [])
            listed = {k for (k,) in client.query(
                f"SELECT subject_key FROM {db}.blacklist_current "
                "WHERE last_change != 'TOMBSTONE'").result_rows}
            diff = sorted(listed ^ set(expected.blacklist))
            if diff:
                self.report.blacklist_mismatch["clickhouse"] = diff[:50]
        finally:
            client.close()
