"""The embedded broker: Apache Kafka (one KRaft node) from its Maven Central jars on local Java."""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import time
import uuid
from pathlib import Path

from creditstream.embedded.process import ManagedProcess, port_open, wait_port_closed
from creditstream.settings import Settings

HERE = Path(__file__).resolve().parent
POM = HERE / "pom.xml"
LOG4J = HERE / "log4j2.properties"


class EmbeddedStackError(RuntimeError):
    """A problem starting the embedded stack, said in one line a person can act on."""


def require_tool(name: str) -> str:
    path = shutil.which(name)
    if not path:
        hint = {"java": "OpenJDK 17 (apt-get install openjdk-17-jre-headless)",
                "mvn": "Maven (apt-get install maven)"}[name]
        raise EmbeddedStackError(
            f"'{name}' was not found: install {hint} for the embedded broker, "
            "or run the production stack with `docker compose up`.")
    return path


def jar_dir(settings: Settings) -> Path:
    """The jar cache, versioned by the pom so a changed pom fetches afresh."""
    digest = hashlib.sha256(POM.read_bytes()).hexdigest()[:12]
    return settings.jar_cache / digest


def ensure_jars(settings: Settings, log=print) -> Path:
    target = jar_dir(settings)
    if (target / ".complete").exists():
        return target
    mvn = require_tool("mvn")
    require_tool("java")
    log(f"fetching Apache Kafka jars from Maven Central into {target} (once)")
    staging = target.with_name(target.name + f".part-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    result = subprocess.run(
        [mvn, "-q", "-B", "-f", str(POM), "dependency:copy-dependencies",
         f"-DoutputDirectory={staging}", "-DincludeScope=runtime"],
        capture_output=True, text=True)
    if result.returncode != 0:
        shutil.rmtree(staging, ignore_errors=True)
        output = (result.stdout + result.stderr).strip().splitlines() or ["mvn failed"]
        raise EmbeddedStackError(f"Maven could not fetch the Kafka jars: {output[-1]}")
    (staging / ".complete").write_text("ok\n")
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        staging.rename(target)
    except OSError:  # another process finished first
        shutil.rmtree(staging, ignore_errors=True)
    return target


def new_cluster_id() -> str:
    """A Kafka cluster id: a base64url UUID of 22 characters.

    Like Kafka's own Uuid.randomUuid, never one that starts with '-': command-line tools
    would read it as an option.
    """
    import base64
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


class EmbeddedKafka:
    """One Apache Kafka node in KRaft mode (broker and controller), on 127.0.0.1 only."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.dir = settings.data_dir.resolve() / "kafka"
        self.process: ManagedProcess | None = None

    @property
    def properties_path(self) -> Path:
        return self.dir / "server.properties"

    def _write_config(self) -> None:
        s = self.settings
        self.dir.mkdir(parents=True, exist_ok=True)
        props = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.voters": f"1@127.0.0.1:{s.kafka_controller_port}",
            "listeners": f"PLAINTEXT://127.0.0.1:{s.kafka_port},CONTROLLER://127.0.0.1:{s.kafka_controller_port}",
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{s.kafka_port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "log.dirs": str(self.dir / "data"),
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "4",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "transaction.state.log.num.partitions": "4",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            # One node: no reason to wait for more members before the first rebalance.
            "group.initial.rebalance.delay.ms": "0",
            "num.partitions": str(s.topic_partitions),
            "log.retention.hours": "-1",  # history lives in ClickHouse; topics keep theirs by config
            "log.flush.interval.messages": "9223372036854775807",
        }
        self.properties_path.write_text("".join(f"{k}={v}\n" for k, v in props.items()))

    def _java(self, jars: Path, main: str, *args: str, heap: str = "256m") -> list[str]:
        return [require_tool("java"), f"-Xmx{heap}", "-XX:+UseG1GC", "-Djava.awt.headless=true",
                f"-Dlog4j2.configurationFile={LOG4J}",
                f"-Dcreditstream.log.file={self.settings.log_dir.resolve() / 'kafka.log'}",
                "-cp", f"{jars}/*", main, *args]

    def _format_once(self, jars: Path) -> None:
        if (self.dir / "data" / "meta.properties").exists():
            return
        cluster_id = self._cluster_id()
        result = subprocess.run(
            self._java(jars, "kafka.tools.StorageTool", "format", f"--cluster-id={cluster_id}",
                       f"--config={self.properties_path}", "--ignore-formatted"),
            capture_output=True, text=True)
        if result.returncode != 0:
            raise EmbeddedStackError(f"formatting the Kafka log directory failed: {result.stderr.strip()[-500:]}")

    def _cluster_id(self) -> str:
        path = self.dir / "cluster.id"
        if not path.exists():
            path.write_text(new_cluster_id())
        return path.read_text().strip()

    def _kill_stale(self) -> None:
        """A broker left by a crashed stack (pid file still there, process still ours): stop it."""
        pid_file = self.dir / "broker.pid"
        if not pid_file.exists():
            return
        try:
            pid = int(pid_file.read_text())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            if str(self.properties_path).encode() in cmdline:
                os.killpg(pid, 9)
                wait_port_closed("127.0.0.1", self.settings.kafka_port)
        except (ValueError, FileNotFoundError, ProcessLookupError, PermissionError):
            pass
        pid_file.unlink(missing_ok=True)

    def start(self, timeout: float = 60.0, log=print) -> float:
        """Start the broker and wait until it answers a metadata request; returns seconds taken."""
        s = self.settings
        jars = ensure_jars(s, log)
        self._write_config()
        self._kill_stale()
        for port in (s.kafka_port, s.kafka_controller_port):
            if port_open("127.0.0.1", port) and not wait_port_closed("127.0.0.1", port, 10):
                raise EmbeddedStackError(
                    f"port {port} on 127.0.0.1 is in use: stop what holds it or set "
                    "CREDITSTREAM_KAFKA_PORT / CREDITSTREAM_KAFKA_CONTROLLER_PORT")
        self._format_once(jars)
        started = time.monotonic()
        self.process = ManagedProcess(
            "kafka", self._java(jars, "kafka.Kafka", str(self.properties_path), heap=s.kafka_heap),
            s.log_dir.resolve() / "kafka.out", stop_timeout=30.0).start()
        (self.dir / "broker.pid").write_text(str(self.process.pid))
        self.wait_ready(started + timeout)
        return time.monotonic() - started

    def wait_ready(self, deadline: float) -> None:
        from confluent_kafka.admin import AdminClient

        admin = None
        while time.monotonic() < deadline:
            if not self.process.alive():
                raise EmbeddedStackError("the Kafka broker exited during start-up:\n" + self.process.tail())
            if port_open("127.0.0.1", self.settings.kafka_port):
                admin = admin or AdminClient({"bootstrap.servers": self.settings.bootstrap_servers,
                                              "log_level": 0})
                try:
                    md = admin.list_topics(timeout=2)
                    if md.brokers:
                        return
                except Exception:
                    pass
            time.sleep(0.1)
        self.stop()
        raise EmbeddedStackError("the Kafka broker did not answer in time; see " + str(self.process.log_path))

    def kill(self) -> None:
        if self.process:
            self.process.kill()

    def stop(self) -> None:
        if self.process:
            self.process.stop()
            wait_port_closed("127.0.0.1", self.settings.kafka_port)
            (self.dir / "broker.pid").unlink(missing_ok=True)
