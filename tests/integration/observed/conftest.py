"""The observed stack, shared by the dashboard and metrics tests of this package: the embedded
stack with Prometheus scraping every process, a demo feed running for as long as the tests look,
and the approval-window checks and zero reports the feed does not send (so every panel has data).
Scoped to the package, so that it stops when they are done rather than at the end of the run,
where its feed would share the two cores with every later test."""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from avro_schemas.codec import CHECK_RECORD
from creditstream.embedded.prometheus import EmbeddedPrometheus
from creditstream.embedded.stack import EmbeddedStack, SinkClient
from creditstream.settings import Settings
from creditstream.topics import CHECKS
from producers.credit_producer import CreditProducer
from producers.demo_feed import DemoFeed
from producers.zero_report import publish, zero_report, zero_report_producer
from tests.conftest import free_ports, stack_settings

FEED_RATE = 100.0  # events per second: enough for every panel, little for two shared cores
ZERO_REPORT_UNIT = ("GAS-420200", "GAS-QF")  # a unit with nothing to report this month


class DemoFeedThread:
    """Publishes demo events at a steady rate until stopped, as `creditstream up`'s feed does."""

    def __init__(self, bootstrap_servers: str, rate: float = FEED_RATE, seed: int = 23):
        self.feed = DemoFeed(seed=seed, bad_share=0.08)
        self.producer = CreditProducer(bootstrap_servers)
        self.rate = rate
        self.sent = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="demo-feed", daemon=True)

    def _run(self) -> None:
        started = time.monotonic()
        while not self._stop.is_set():
            event, _valid = self.feed.next_event()
            self.producer.send(event)
            self.sent += 1
            ahead = self.sent / self.rate - (time.monotonic() - started)
            if ahead > 0:
                self._stop.wait(ahead)

    def start(self) -> "DemoFeedThread":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(30)
        self.producer.close()


def check_record(n: int, listed: bool, now_ms: int) -> dict:
    hits = [{"list": "COURT_DISHONEST", "status": "ACTIVE", "subject_key": "420202********1234",
             "since": None, "until": None, "basis_event_ids": [f"evt-{n}"]}] if listed else []
    return {"check_id": f"check-{n}", "requested_at": now_ms - n * 1000, "requesting_unit": "FGW-420200",
            "caller": "window-1", "matter": {"kind": "行政审批", "name": "食品经营许可", "reference": f"SP-{n}"},
            "subject": {"key": "420202********1234", "key_kind": "ID_NUMBER_MASKED", "subject_type": "NATURAL_PERSON",
                        "name": None},
            "match": "KEY", "listed": listed, "hits": hits,
            "index": {"version": "credit.blacklist:0=1", "as_of": now_ms - 5000, "stale": False}}


def publish_checks_and_zero_reports(settings: Settings) -> None:
    now = datetime.now(timezone.utc)
    now_ms = int(now.timestamp() * 1000)
    with CreditProducer(settings.bootstrap_servers, topic=CHECKS, record=CHECK_RECORD) as producer:
        for n in range(12):
            producer.send(check_record(n, listed=n % 3 == 0, now_ms=now_ms), key=f"check-{n}")
    unit, catalog = ZERO_REPORT_UNIT
    # The period is this month in Beijing, as the compliance panel reads it.
    period = now.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m")
    with zero_report_producer(settings.bootstrap_servers) as producer:
        publish(producer, zero_report(unit, catalog, period, reporter="clerk-7", now=now))


@dataclass
class ObservedStack:
    settings: Settings
    stack: EmbeddedStack
    feed: DemoFeedThread
    sink: SinkClient


@pytest.fixture(scope="package")
def observed_stack(tmp_path_factory):
    (prometheus_port,) = free_ports(1)
    settings = stack_settings(tmp_path_factory.mktemp("observed"), prometheus_port=prometheus_port,
                              prometheus_scrape_interval="1s")
    stack = EmbeddedStack(settings, prometheus=EmbeddedPrometheus.available()).start()
    feed = None
    try:
        feed = DemoFeedThread(settings.bootstrap_servers).start()
        publish_checks_and_zero_reports(settings)
        yield ObservedStack(settings, stack, feed, SinkClient(settings))
    finally:
        if feed is not None:
            feed.stop()
        stack.stop()


