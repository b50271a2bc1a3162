"""Fault points for tests of the real sink process: a file in the fault directory switches a fault
on. Off unless CREDITSTREAM_SINK_FAULT_DIR is set; production never sets it.

- ``clickhouse-down``: every ClickHouse call fails as a refused connection would, while the file
  exists (the real chdb stays underneath, untouched).
- ``kill-after-insert``: the process SIGKILLs itself after a batch's inserts and before its offset
  commit, once (the file is removed first).
"""
from __future__ import annotations

import os
import signal
from pathlib import Path

CLICKHOUSE_DOWN = "clickhouse-down"
KILL_AFTER_INSERT = "kill-after-insert"


class ClickHouseUnavailable(ConnectionError):
    pass


class FaultPoints:
    def __init__(self, directory: Path | str | None):
        self.directory = Path(directory) if directory else None

    def active(self, name: str) -> bool:
        return self.directory is not None and (self.directory / name).exists()

    def switch(self, name: str, on: bool = True) -> None:
        path = self.directory / name
        if on:
            self.directory.mkdir(parents=True, exist_ok=True)
            path.touch()
        else:
            path.unlink(missing_ok=True)

    def crash_point(self, name: str) -> None:
        """Die here, like a power cut, if the fault is on (once)."""
        if self.active(name):
            (self.directory / name).unlink(missing_ok=True)
            os.kill(os.getpid(), signal.SIGKILL)


class FaultInjectingClient:
    """A ClickHouse client whose calls fail while ``clickhouse-down`` is on."""

    def __init__(self, client, faults: FaultPoints):
        self._client = client
        self._faults = faults

    def _check(self) -> None:
        if self._faults.active(CLICKHOUSE_DOWN):
            raise ClickHouseUnavailable("connection refused (fault injected: clickhouse-down)")

    def query(self, *args, **kwargs):
        self._check()
        return self._client.query(*args, **kwargs)

    def command(self, *args, **kwargs):
        self._check()
        return self._client.command(*args, **kwargs)

    def insert(self, *args, **kwargs):
        self._check()
        return self._client.insert(*args, **kwargs)

    def raw_insert(self, *args, **kwargs):
        self._check()
        return self._client.raw_insert(*args, **kwargs)

    def close(self):
        self._client.close()
