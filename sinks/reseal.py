"""Re-seal the stored ID numbers after a key rotation, in the background, without downtime.

Every sealed value leads with its key id ("k1:..."), so what is left to do is a count by prefix.
A pass takes up to `batch` distinct old values of one column, opens and re-seals them in Python
(the keys never reach ClickHouse), loads the pairs into a Join-engine table and rewrites the column
with one mutation (`joinGet`; a value not in the map gets '' from it, so it is left alone). Mutations run asynchronously in ClickHouse; a pass waits for the
previous one on that table to finish. Readers see either the old or the new sealed value of a row,
both open with the key ring (old keys are never dropped by a rotation).
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Callable

from creditstream.domain.pseudonym import KeyFailure, Pseudonymiser

log = logging.getLogger("creditstream.sink.reseal")

SEALED_COLUMNS: dict[str, tuple[str, ...]] = {
    "records": ("subject_sealed", "legal_representative_id_sealed"),
    "blacklist_history": ("subject_sealed",),
}
_MAP_TABLE = "reseal_map"


def _not_current(column: str) -> str:
    return f"{column} IS NOT NULL AND NOT startsWith(assumeNotNull({column}), {{prefix:String}})"


def pending(client, database: str, current_key: str) -> dict[str, int]:
    """Rows per table.column whose sealed value is under an older key."""
    found = {}
    for table, columns in SEALED_COLUMNS.items():
        for column in columns:
            rows = client.query(f"SELECT count() FROM {database}.{table} WHERE {_not_current(column)}",
                                parameters={"prefix": f"{current_key}:"}).result_rows
            found[f"{table}.{column}"] = int(rows[0][0])
    return found


def _mutation_running(client, database: str, table: str) -> bool:
    rows = client.query("SELECT count() FROM system.mutations WHERE database = {db:String} AND table = {t:String} "
                        "AND NOT is_done", parameters={"db": database, "t": table}).result_rows
    return int(rows[0][0]) > 0


def reseal_pass(client, database: str, keys: Pseudonymiser, batch: int = 100_000) -> int:
    """One pass over every sealed column: values queued for rewriting (0 when nothing is left or
    the previous mutations still run)."""
    prefix = f"{keys.aead_current}:"
    queued = 0
    for table, columns in SEALED_COLUMNS.items():
        if _mutation_running(client, database, table):
            continue
        for column in columns:
            olds = [r[0] for r in client.query(
                f"SELECT DISTINCT assumeNotNull({column}) FROM {database}.{table} WHERE {_not_current(column)} "
                f"LIMIT {int(batch)}", parameters={"prefix": prefix}).result_rows]
            if not olds:
                continue
            pairs = [(old, keys.reseal(old)) for old in olds]  # raises on a value no key opens: loud
            # One map per column: the table's previous mutation (finished, see above) read its own.
            mapping = f"{database}.{_MAP_TABLE}_{table}_{column}"
            client.command(f"DROP TABLE IF EXISTS {mapping}")
            client.command(f"CREATE TABLE {mapping} (old String, new String) ENGINE = Join(ANY, LEFT, old)")
            client.insert(mapping, pairs, column_names=["old", "new"])
            # Asynchronous: the sink's inserts go on while ClickHouse rewrites the parts.
            client.command(
                f"ALTER TABLE {database}.{table} UPDATE {column} = joinGet('{mapping}', 'new', "
                f"assumeNotNull({column})) WHERE {column} IS NOT NULL "
                f"AND notEmpty(joinGet('{mapping}', 'new', assumeNotNull({column})))")
            queued += len(pairs)
            log.info("re-sealed %d values of %s.%s under key %s", len(pairs), table, column, keys.aead_current)
    return queued


class Resealer:
    """The sink's background re-sealing: checks every `interval` seconds, works while there is
    something under an old key."""

    def __init__(self, client, database: str, keys: Callable[[], Pseudonymiser], interval: float = 30.0):
        self.client, self.database, self.keys, self.interval = client, database, keys, interval
        self._stop = threading.Event()
        self.last_error: str | None = None

    def run_once(self) -> int:
        return reseal_pass(self.client, self.database, self.keys())

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                while self.run_once() and not self._stop.is_set():
                    time.sleep(0.1)
                self.last_error = None
            except KeyFailure as exc:  # a sealed value no key opens: said, never skipped silently
                self.last_error = str(exc)
                log.error("re-sealing stopped: %s", exc)
            except Exception as exc:  # ClickHouse busy or down: the next round tries again
                self.last_error = f"{type(exc).__name__}"
                log.warning("re-sealing pass failed (%s); retrying in %.0f s", type(exc).__name__, self.interval)

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self._loop, name="reseal", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        self._stop.set()
