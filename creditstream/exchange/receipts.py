"""Receipts: every batch built for a peer and what became of it, in one SQLite file under the data
directory (<data_dir>/exchange/receipts.sqlite) that an operator can open with `sqlite3` as well
as read through `creditstream exchange status`. SQLite, not ClickHouse: the sender runs beside the
sink, whose process alone may open the embedded ClickHouse files.

States: pending (built, not delivered yet) -> sent (delivered, the peer has not acknowledged) ->
acknowledged; a failed attempt leaves it failed with the time of the next attempt, and the next
`send` tries again: a batch is never dropped.
"""
from __future__ import annotations

import json
import sqlite3
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from creditstream.exchange.batch import Manifest

PENDING, SENT, ACKNOWLEDGED, FAILED = "pending", "sent", "acknowledged", "failed"
STATES = (PENDING, SENT, ACKNOWLEDGED, FAILED)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS periods (
    peer        TEXT PRIMARY KEY,
    period_end  TEXT NOT NULL              -- records stored before this instant are in batches
);
CREATE TABLE IF NOT EXISTS batches (
    batch_id         TEXT PRIMARY KEY,
    peer             TEXT NOT NULL,
    layout           TEXT NOT NULL,
    format           TEXT NOT NULL,
    file             TEXT NOT NULL,
    count            INTEGER NOT NULL,
    sha256           TEXT NOT NULL,
    period_start     TEXT NOT NULL,
    period_end       TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    state            TEXT NOT NULL CHECK (state IN ('pending', 'sent', 'acknowledged', 'failed')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    last_attempt_at  TEXT,
    next_attempt_at  TEXT,
    last_error       TEXT,
    sent_at          TEXT,
    acknowledged_at  TEXT,
    receipt          TEXT                  -- the peer's answer or acknowledgement, as it sent it
);
CREATE INDEX IF NOT EXISTS batches_by_peer ON batches (peer, state);
"""


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Receipts:
    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def transaction(self):
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def period_end(self, peer: str) -> str | None:
        row = self._db.execute("SELECT period_end FROM periods WHERE peer = ?", (peer,)).fetchone()
        return row[0] if row else None

    def record_period(self, peer: str, manifests: list[Manifest], period_end: str) -> None:
        """The period's batches (pending) and the new end of what is batched, together: a crash
        between building and recording builds the same batches again (their ids are the same)."""
        with self.transaction():
            for m in manifests:
                self._db.execute(
                    "INSERT OR IGNORE INTO batches (batch_id, peer, layout, format, file, count, sha256, period_start, "
                    "period_end, created_at, state) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending')",
                    (m.batch_id, m.peer, m.layout, m.format, m.file, m.count, m.sha256, m.period_start, m.period_end,
                     m.created_at))
            self._db.execute("INSERT INTO periods (peer, period_end) VALUES (?, ?) "
                             "ON CONFLICT (peer) DO UPDATE SET period_end = excluded.period_end", (peer, period_end))

    def due(self, peer: str, at: str) -> list[sqlite3.Row]:
        """Batches to deliver now: pending ones, and failed ones whose next attempt has come."""
        return self._db.execute(
            "SELECT * FROM batches WHERE peer = ? AND (state = 'pending' OR (state = 'failed' AND next_attempt_at <= ?)) "
            "ORDER BY period_start, batch_id", (peer, at)).fetchall()

    def awaiting_ack(self, peer: str) -> list[sqlite3.Row]:
        return self._db.execute("SELECT * FROM batches WHERE peer = ? AND state = 'sent' ORDER BY batch_id",
                                (peer,)).fetchall()

    def delivered(self, batch_id: str, acknowledged: bool, receipt: dict | None = None) -> None:
        at = now_iso()
        self._db.execute(
            "UPDATE batches SET state = ?, attempts = attempts + 1, last_attempt_at = ?, sent_at = ?, "
            "acknowledged_at = ?, next_attempt_at = NULL, last_error = NULL, receipt = ? WHERE batch_id = ?",
            (ACKNOWLEDGED if acknowledged else SENT, at, at, at if acknowledged else None,
             json.dumps(receipt, ensure_ascii=False) if receipt is not None else None, batch_id))

    def acknowledged(self, batch_id: str, receipt: dict) -> None:
        self._db.execute("UPDATE batches SET state = 'acknowledged', acknowledged_at = ?, receipt = ? WHERE batch_id = ?",
                         (now_iso(), json.dumps(receipt, ensure_ascii=False), batch_id))

    def failed(self, batch_id: str, error: str, next_attempt_at: str) -> None:
        self._db.execute(
            "UPDATE batches SET state = 'failed', attempts = attempts + 1, last_attempt_at = ?, next_attempt_at = ?, "
            "last_error = ? WHERE batch_id = ?", (now_iso(), next_attempt_at, error[:500], batch_id))

    def attempts(self, batch_id: str) -> int:
        row = self._db.execute("SELECT attempts FROM batches WHERE batch_id = ?", (batch_id,)).fetchone()
        return int(row[0]) if row else 0

    def summary(self) -> dict[str, dict]:
        """Per peer and state: batches and records; and the oldest failure still retrying."""
        out: dict[str, dict] = {}
        for row in self._db.execute(
                "SELECT peer, state, count(*), coalesce(sum(count), 0), min(next_attempt_at), max(last_error) "
                "FROM batches GROUP BY peer, state"):
            peer = out.setdefault(row[0], {s: {"batches": 0, "records": 0} for s in STATES})
            peer[row[1]] = {"batches": row[2], "records": row[3]}
            if row[1] == FAILED:
                peer[FAILED].update(next_attempt_at=row[4], last_error=row[5])
        for peer, end in self._db.execute("SELECT peer, period_end FROM periods"):
            out.setdefault(peer, {s: {"batches": 0, "records": 0} for s in STATES})["batched_until"] = end
        return out

    def batches(self, peer: str | None = None) -> list[dict]:
        sql, args = "SELECT * FROM batches", ()
        if peer:
            sql, args = sql + " WHERE peer = ?", (peer,)
        return [dict(r) for r in self._db.execute(sql + " ORDER BY peer, period_start, batch_id", args)]
