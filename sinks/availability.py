"""Whether ClickHouse takes the sink's writes: one log line when an episode starts, one when it ends,
the gauge and counters in between, and the backoff to wait before the next attempt.

A failure that is not ClickHouse's (an error raised by the sink's own code while it builds or
stores a batch) is told apart: it is not an outage, so the unavailable gauge stays 0 and the log names
the exception's type and place instead of blaming ClickHouse. It is retried all the same — the batch
is not committed until stored, so nothing is lost, and a fix and restart carries on from there."""
from __future__ import annotations

import logging
import time

from clickhouse_connect.driver.exceptions import ClickHouseError

from creditstream.failure import where
from sinks.metrics import SinkMetrics

log = logging.getLogger("creditstream.sink")


def clickhouse_refused(exc: BaseException) -> bool:
    """ClickHouse answered with an error, or could not be reached."""
    return isinstance(exc, (ClickHouseError, OSError))


class Availability:
    def __init__(self, metrics: SinkMetrics, first_delay: float = 0.5, max_delay: float = 10.0):
        self.metrics = metrics
        self.first_delay = first_delay
        self.max_delay = max_delay
        self.down_since: float | None = None
        self.fault: str | None = None  # the sink's own failure being retried, as `where` tells it
        self.delay = first_delay

    @property
    def down(self) -> bool:
        return self.down_since is not None

    def failed(self, exc: BaseException) -> float:
        """Record a failed attempt; return how long to wait before the next one."""
        self.metrics.retries.inc()
        first = self.down_since is None and self.fault is None
        if clickhouse_refused(exc):
            self._clickhouse_failed(exc)
        else:
            self._sink_failed(exc)
        self.delay = self.first_delay if first else min(self.delay * 2, self.max_delay)
        return self.delay

    def _clickhouse_failed(self, exc: BaseException) -> None:
        if self.down_since is None:
            self.down_since = time.monotonic()
            self.metrics.unavailable.set(1)
            self.metrics.unavailable_episodes.inc()
            log.error("ClickHouse does not take writes; holding the batches and retrying with backoff: %s: %s",
                      type(exc).__name__, exc)

    def _sink_failed(self, exc: BaseException) -> None:
        self.metrics.store_faults.inc()
        fault = where(exc)
        if fault != self.fault:  # once per fault, not once per retry
            log.error("storing a batch failed in the sink itself (%s), not in ClickHouse; the batch is held, "
                      "not committed, and retried with backoff", fault)
            self.fault = fault

    def succeeded(self) -> None:
        if self.down_since is not None:
            log.warning("ClickHouse takes writes again after %.1f s; resuming", time.monotonic() - self.down_since)
            self.down_since = None
            self.metrics.unavailable.set(0)
        if self.fault is not None:
            log.warning("storing works again after %s", self.fault)
            self.fault = None
