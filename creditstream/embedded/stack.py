"""The embedded stack: broker, topics, sink, worker and (for `up`) the demo feed, started in
order and stopped in reverse, with nothing left behind."""
from __future__ import annotations

import json
import os
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from creditstream.embedded.kafka import EmbeddedKafka, EmbeddedStackError
from creditstream.embedded.prometheus import EmbeddedPrometheus
from creditstream.embedded.process import ManagedProcess, wait_port_closed
from creditstream.service_token import service_token
from creditstream.settings import Settings
from creditstream.topics import ensure_topics, topic_specs


def child_env(settings: Settings) -> dict[str, str]:
    """The environment of every child: the parent's settings, spelled as CREDITSTREAM_* variables,
    so all processes agree without reading anything twice."""
    env = dict(os.environ)
    for name, value in settings.model_dump().items():
        if name == "data_dir":
            value = Path(value).resolve()
        env[f"CREDITSTREAM_{name.upper()}"] = str(value)
    env["PYTHONUNBUFFERED"] = "1"
    return env


class SinkClient:
    """Asks the sink process (the owner of the ClickHouse data) for what it serves."""

    def __init__(self, settings: Settings):
        self.base = settings.sink_url
        self.token = service_token(settings)

    def get(self, path: str, timeout: float = 5.0) -> dict:
        request = urllib.request.Request(self.base + path, headers={"Authorization": f"Bearer {self.token}"})
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read())

    def healthy(self) -> bool:
        return _healthy(self.base + "/healthz")


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def _wait_healthy(proc: ManagedProcess, url: str, what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not _healthy(url):
        if not proc.alive():
            raise EmbeddedStackError(f"{what} exited during start-up:\n" + proc.tail())
        if time.monotonic() > deadline:
            raise EmbeddedStackError(f"{what} did not become ready; see {proc.log_path}")
        time.sleep(0.1)


class EmbeddedStack:
    def __init__(self, settings: Settings, demo: bool = False, demo_rate: float | None = None, log=print,
                 prometheus: bool = False, ingest: bool = False, checks: bool = False):
        self.settings = settings
        self.want_checks = checks  # `up` asks for it: the approval-window check service
        self.demo = demo
        self.want_ingest = ingest  # `up` asks for it: units' HTTP push, online form, zero reports
        self.want_prometheus = prometheus  # `up` asks for it; tests of other parts need no scraper
        self.prometheus: EmbeddedPrometheus | None = None
        self.demo_rate = demo_rate or settings.demo_rate
        self.log = log
        self.kafka = EmbeddedKafka(settings) if settings.embedded_kafka else None
        self.processes: dict[str, ManagedProcess] = {}
        self.timings: dict[str, float] = {}

    def _spawn(self, name: str, argv: list[str], settings: Settings | None = None) -> ManagedProcess:
        proc = ManagedProcess(name, argv, self.settings.log_dir.resolve() / f"{name}.log",
                              env=child_env(settings or self.settings)).start()
        self.processes[name] = proc
        return proc

    def start(self) -> "EmbeddedStack":
        s = self.settings
        s.data_dir.mkdir(parents=True, exist_ok=True)
        service_token(s)  # generated once, before any child needs it
        try:
            if self.kafka:
                self.timings["broker"] = self.kafka.start(log=self.log)
            ensure_topics(s.bootstrap_servers, topic_specs(s.topic_partitions, s.topic_replication, s.inbound_retention_days))
            started = time.monotonic()
            self.start_sink()
            self.timings["sink"] = time.monotonic() - started
            self.start_worker()
            if self.want_ingest:
                self.start_ingest()
            if self.want_checks:
                self.start_checks()
            if self.demo:
                self.start_feed()
            if self.want_prometheus:
                self.start_prometheus()
        except BaseException:
            self.stop()
            raise
        return self

    def start_sink(self, timeout: float = 60.0) -> None:
        proc = self._spawn("sink", [sys.executable, "-m", "sinks"])
        client = SinkClient(self.settings)
        deadline = time.monotonic() + timeout
        while not client.healthy():
            if not proc.alive():
                raise EmbeddedStackError("the sink exited during start-up:\n" + proc.tail())
            if time.monotonic() > deadline:
                raise EmbeddedStackError("the sink did not become ready; see " + str(proc.log_path))
            time.sleep(0.1)

    def start_ingest(self, timeout: float = 60.0) -> None:
        """`creditstream serve`: HTTP push, the online form and zero reports on the ingest port."""
        s = self.settings
        proc = self._spawn("ingest", [sys.executable, "-m", "creditstream", "serve", "--port", str(s.ingest_port)])
        _wait_healthy(proc, f"http://127.0.0.1:{s.ingest_port}/healthz", "the ingest service", timeout)

    def start_checks(self, timeout: float = 60.0) -> None:
        """The check service; it answers /healthz at once and /readyz once its index has read
        credit.blacklist."""
        proc = self._spawn("checks", [sys.executable, "-m", "checks"])
        _wait_healthy(proc, f"{self.settings.check_url}/healthz", "the check service", timeout)

    def start_worker(self, name: str = "worker", **overrides) -> ManagedProcess:
        """A stream worker; more than one (each with its own `worker_web_port`, which names its
        transactional id) share the partitions of credit.inbound."""
        settings = self.settings.model_copy(update=overrides) if overrides else None
        return self._spawn(name, [sys.executable, "-m", "stream_apps", "worker", "--loglevel", "info"], settings)

    def scrape_targets(self) -> dict[str, str]:
        """Every process with a /metrics, by the job name the dashboards select on."""
        s = self.settings
        targets = {"sink": f"127.0.0.1:{s.sink_port}", "worker": f"127.0.0.1:{s.worker_web_port}",
                   "prometheus": f"127.0.0.1:{s.prometheus_port}"}
        if self.want_checks:  # the index's freshness (creditstream_checks_index_age_seconds, _stale)
            targets["checks"] = f"127.0.0.1:{s.check_port}"
        return targets

    def start_prometheus(self) -> None:
        """Optional: the stack runs without it when the Debian package is absent or cannot start."""
        if not EmbeddedPrometheus.available():
            self.log("Prometheus is not installed (scripts/install-system-deps installs it): no metrics history")
            return
        prometheus = EmbeddedPrometheus(self.settings, self.scrape_targets())
        try:
            prometheus.start()
        except RuntimeError as exc:
            prometheus.stop()
            self.log(f"running without Prometheus: {exc}")
            return
        self.prometheus = prometheus

    def start_feed(self) -> None:
        self._spawn("feed", [sys.executable, "-m", "creditstream", "feed", "--rate", str(self.demo_rate)])

    def restart(self, name: str) -> None:
        """Start again a child that exited (the supervisor's part: `creditstream up` calls it).
        The broker keeps its log on disk; every other child resumes from committed offsets."""
        if name == "kafka":
            self.kafka.start(log=self.log)
            return
        self.processes.pop(name, None)
        starters = {"sink": self.start_sink, "worker": self.start_worker, "ingest": self.start_ingest,
                    "checks": self.start_checks, "feed": self.start_feed}
        starters[name]()

    def failed(self) -> list[str]:
        """Names of children that exited while they should be running."""
        failed = [n for n, p in self.processes.items() if not p.alive()]
        if self.kafka and self.kafka.process and not self.kafka.process.alive():
            failed.append("kafka")
        return failed

    def stop(self) -> None:
        # The scraper first, then producers, then the worker, then the sink (it flushes), then the broker.
        if self.prometheus:
            self.prometheus.stop()
            self.prometheus = None
        for name in ("feed", "ingest", "checks", "worker", "sink"):
            proc = self.processes.pop(name, None)
            if proc:
                proc.stop()
        for name, proc in list(self.processes.items()):
            proc.stop()
            self.processes.pop(name)
        wait_port_closed("127.0.0.1", self.settings.sink_port, 5)
        if self.kafka:
            self.kafka.stop()

    def __enter__(self) -> "EmbeddedStack":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
