"""The one settings object: every address, path and port comes from here.

Environment variables are ``CREDITSTREAM_<FIELD>``; the defaults mean the embedded stack on
this machine (Apache Kafka and chdb under ``data_dir``, everything on 127.0.0.1).
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CREDITSTREAM_", extra="ignore")

    # Where the embedded stack keeps everything it writes (broker log, ClickHouse, secrets, logs).
    data_dir: Path = Path(".creditstream")
    # Apache Kafka jars fetched once by Maven; shared by every data directory.
    jar_cache: Path = Path.home() / ".cache" / "creditstream" / "kafka-jars"

    # Kafka: empty bootstrap means "the embedded broker on kafka_port".
    kafka_bootstrap: str = ""
    kafka_port: int = 19092
    kafka_controller_port: int = 19093
    kafka_heap: str = "512m"
    topic_partitions: int = 4
    topic_replication: int = 1
    # credit.inbound carries ID numbers in clear: short retention (PIPL), days.
    inbound_retention_days: int = 7
    schema_registry_url: str = ""

    # ClickHouse: empty DSN means chdb in <data_dir>/clickhouse.
    clickhouse_dsn: str = ""
    clickhouse_database: str = "creditstream"

    # Stream worker (faust).
    worker_app_id: str = "creditstream-worker"
    worker_web_port: int = 6066
    worker_batch_size: int = 5000
    # A transaction under way longer than this (its calls time out within 2 minutes) means a
    # broker call is stuck: the worker exits for its supervisor to restart it.
    worker_stall_seconds: float = 120.0
    # Where the worker's /metrics and /healthz listen (127.0.0.1 in the embedded default).
    worker_web_bind: str = "127.0.0.1"
    # The unit catalog (TOML); empty means the bundled one (creditstream/domain/data/unit_catalog.toml).
    worker_unit_catalog: str = ""
    # Shifts the worker's "today" (expiry of punishment periods), for drills and tests; 0 in production.
    worker_clock_offset_days: int = 0

    # Sink: batch by size or time, whichever comes first.
    sink_group_id: str = "creditstream-sink"
    sink_batch_size: int = 20000
    sink_batch_seconds: float = 1.0
    # The sink owns the chdb directory, so it also answers reads (counts, dashboards) over HTTP.
    sink_port: int = 18124
    # Where the sink's query API, live page and /metrics listen (0.0.0.0 in compose, for Prometheus).
    sink_bind: str = "127.0.0.1"
    # How many offsets back (per partition) the sink remembers stored event ids, to drop an output
    # published again at a new offset (a worker's restart); its own replays need no window.
    sink_replay_window: int = 50000
    # Fault points for tests (sinks/faults.py); empty in production.
    sink_fault_dir: str = ""

    # Prometheus for the embedded default (Debian package), when installed.
    prometheus_port: int = 19090
    prometheus_scrape_interval: str = "5s"

    # Bearer token of the embedded services; empty means generated under <data_dir>/secrets.
    api_token: str = ""

    # Pseudonymisation keys (HMAC for subject keys, AES-GCM for sealed ID numbers); empty means
    # <data_dir>/secrets/keys.json, generated on first start. Compose mounts a secret here.
    keys_file: str = ""

    # Ingest service (`creditstream serve`): HTTP push, online form, zero reports; unit tokens
    # live in <data_dir>/secrets/tokens.json.
    ingest_port: int = 18180
    # The first `serve` prints an administrator token once. Off in compose, where stdout is a log:
    # there the operator runs `creditstream tokens create --unit PLATFORM --scope admin` instead.
    bootstrap_admin: bool = True
    ingest_max_body_bytes: int = 5 * 1024 * 1024
    ingest_max_records: int = 5000
    # Per token: requests a second on average and in a burst; beyond them 429 with Retry-After.
    ingest_rate_per_second: float = 20.0
    ingest_rate_burst: int = 40

    # Check service (`creditstream checks serve`): blacklist checks, feedback, objections.
    check_port: int = 18190
    check_bind: str = "127.0.0.1"
    check_max_body_bytes: int = 4 * 1024 * 1024   # a bulk of 50,000 ids is about 1.2 MB
    check_max_bulk_subjects: int = 50_000
    check_rate_per_token: float = 5000.0          # requests a second, per token
    check_burst_per_token: int = 10_000
    # Where check records wait on disk for the audit sender (default <data_dir>/checks/audit-spool).
    # One check service per directory: a second one refuses to start.
    check_audit_spool: str = ""

    # Exchange with other platform levels: the peers file (TOML); empty means the bundled example
    # (creditstream/exchange/data/peers.toml). Receipts and the outbox live in <data_dir>/exchange.
    exchange_peers: str = ""
    # Publication (公示) rules: periods per category (TOML); empty means the bundled defaults
    # (creditstream/publication/data/publication.toml).
    publication_rules: str = ""
    # Public search API and page: requests a second per client address, and in a burst.
    publication_rate_per_second: float = 2.0
    publication_rate_burst: int = 20

    # Demo feed for `creditstream up`.
    demo_rate: float = 200.0  # records per second

    @property
    def bootstrap_servers(self) -> str:
        return self.kafka_bootstrap or f"127.0.0.1:{self.kafka_port}"

    @property
    def embedded_kafka(self) -> bool:
        return not self.kafka_bootstrap

    @property
    def clickhouse_url(self) -> str:
        return self.clickhouse_dsn or f"chdb://{(self.data_dir / 'clickhouse').resolve()}"

    @property
    def sink_url(self) -> str:
        return f"http://127.0.0.1:{self.sink_port}"

    @property
    def check_url(self) -> str:
        return f"http://127.0.0.1:{self.check_port}"

    @property
    def log_dir(self) -> Path:
        return self.data_dir / "logs"

    @property
    def secrets_dir(self) -> Path:
        return self.data_dir / "secrets"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
