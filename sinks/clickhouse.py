"""ClickHouse through clickhouse-connect: chdb:// in the embedded default, http:// for a server.
The same calls either way; only the DSN differs."""
from __future__ import annotations

import hashlib
import re
import threading
from dataclasses import dataclass
from pathlib import Path

import clickhouse_connect

from creditstream.settings import Settings

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
_MIGRATION_FILE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


def connect(settings: Settings):
    """A client for the configured DSN. Only one process may hold a chdb directory."""
    return connect_url(settings.clickhouse_url)


def connect_url(url: str):
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

    def raw_insert(self, *args, **kwargs):
        with self._lock:
            return self._client.raw_insert(*args, **kwargs)

    def close(self):
        with self._lock:
            self._client.close()


# -- migrations ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    path: Path

    @property
    def label(self) -> str:
        return f"{self.version:04d}_{self.name}"

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.path.read_bytes()).hexdigest()[:16]


def migration_files(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    found = []
    for path in sorted(directory.glob("*.sql")):
        m = _MIGRATION_FILE.match(path.name)
        if not m:
            raise ValueError(f"migration file name {path.name} is not NNNN_name.sql")
        found.append(Migration(int(m.group(1)), m.group(2), path))
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise ValueError(f"two migration files share a version: {versions}")
    return found


def statements(sql: str) -> list[str]:
    """The statements of a migration file: whole-line ``--`` comments dropped, split on ``;``
    (so a migration never puts ``;`` inside a literal)."""
    body = "\n".join(line for line in sql.splitlines() if not line.strip().startswith("--"))
    return [s.strip() for s in body.split(";") if s.strip()]


def _ensure_migrations_table(client, database: str) -> None:
    client.command(f"CREATE DATABASE IF NOT EXISTS {database}")
    client.command(f"CREATE TABLE IF NOT EXISTS {database}.schema_migrations "
                   "(version UInt32, name String, applied_at DateTime64(3, 'UTC') DEFAULT now64(3)) "
                   "ENGINE = MergeTree ORDER BY version")
    client.command(f"ALTER TABLE {database}.schema_migrations ADD COLUMN IF NOT EXISTS checksum String DEFAULT ''")


def applied_migrations(client, database: str) -> dict[int, tuple[str, str, object]]:
    """version -> (name, checksum, applied_at) of every recorded migration (first record wins)."""
    rows = client.query(f"SELECT version, any(name), any(checksum), min(applied_at) "
                        f"FROM {database}.schema_migrations GROUP BY version ORDER BY version").result_rows
    return {int(v): (n, c, at) for v, n, c, at in rows}


def migrate(client, database: str, directory: Path = MIGRATIONS_DIR) -> list[str]:
    """Apply the migration files not recorded yet, in version order, and record each one after its
    last statement. Every statement is written to be safe to run twice (IF NOT EXISTS, OR REPLACE,
    guarded inserts), so a run that died half-way through a file simply runs the file again."""
    _ensure_migrations_table(client, database)
    done = applied_migrations(client, database)
    applied = []
    for migration in migration_files(directory):
        if migration.version in done:
            continue
        for statement in statements(migration.path.read_text()):
            client.command(statement.replace("{db}", database))
        client.insert(f"{database}.schema_migrations", [(migration.version, migration.name, migration.checksum)],
                      column_names=["version", "name", "checksum"])
        applied.append(migration.label)
    return applied


def migration_status(client, database: str, directory: Path = MIGRATIONS_DIR) -> list[dict]:
    """Each migration file with its state: applied, pending, or changed (edited after it was applied:
    a released migration is never edited; write a new one)."""
    try:
        done = applied_migrations(client, database)
    except Exception:  # no database or no migrations table yet
        done = {}
    status = []
    for migration in migration_files(directory):
        record = done.get(migration.version)
        if record is None:
            state, applied_at = "pending", None
        else:
            _, checksum, applied_at = record
            state = "changed" if checksum and checksum != migration.checksum else "applied"
        status.append({"version": migration.version, "name": migration.name, "state": state,
                       "applied_at": applied_at})
    return status
