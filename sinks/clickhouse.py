"""ClickHouse through clickhouse-connect: chdb:// in the embedded default, http:// for a server."""
from __future__ import annotations

import re
import threading
from pathlib import Path

import clickhouse_connect

from creditstream.settings import Settings

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
_MIGRATION_FILE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


def connect(settings: Settings):
    """A client for the configured DSN. Only one process may hold a chdb directory."""
    url = settings.clickhouse_url
    if url.startswith("chdb://"):
        Path(url[len("chdb://"):]).mkdir(parents=True, exist_ok=True)
    return clickhouse_connect.get_client(dsn=url)


class LockedClient:
    """Serialises calls on one client: the sink loop and the query threads share it."""

    def __init__(self, client):
        self._client = client
        self._lock = threading.Lock()

    def query(self, *args, **kwargs):
        with self._lock:
            return self._client.query(*args, **kwargs)

    def command(self, *args, **kwargs):
        with self._lock:
            return self._client.command(*args, **kwargs)

    def insert(self, *args, **kwargs):
        with self._lock:
            return self._client.insert(*args, **kwargs)

    def close(self):
        with self._lock:
            self._client.close()


def migration_files() -> list[tuple[int, str, Path]]:
    found = []
    for path in sorted(MIGRATIONS_DIR.glob("*.sql")):
        m = _MIGRATION_FILE.match(path.name)
        if not m:
            raise ValueError(f"migration file name {path.name} is not NNNN_name.sql")
        found.append((int(m.group(1)), m.group(2), path))
    return found


def _statements(sql: str) -> list[str]:
    body = "\n".join(line for line in sql.splitlines() if not line.strip().startswith("--"))
    return [s.strip() for s in body.split(";") if s.strip()]


def applied_migrations(client, database: str) -> dict[int, str]:
    rows = client.query(f"SELECT version, name FROM {database}.schema_migrations ORDER BY version").result_rows
    return {int(v): n for v, n in rows}


def migrate(client, database: str) -> list[str]:
    """Apply the migration files not applied yet, in order; return the names applied."""
    client.command(f"CREATE DATABASE IF NOT EXISTS {database}")
    client.command(f"CREATE TABLE IF NOT EXISTS {database}.schema_migrations "
                   "(version UInt32, name String, applied_at DateTime64(3, 'UTC') DEFAULT now64(3)) "
                   "ENGINE = MergeTree ORDER BY version")
    done = applied_migrations(client, database)
    applied = []
    for version, name, path in migration_files():
        if version in done:
            continue
        for statement in _statements(path.read_text()):
            client.command(statement.replace("{db}", database))
        client.insert(f"{database}.schema_migrations", [(version, name)], column_names=["version", "name"])
        applied.append(f"{version:04d}_{name}")
    return applied
