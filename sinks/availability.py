"""Whether ClickHouse takes the sink's writes: one log line when an episode starts, one when it ends,
the gauge and counters in between, and the backoff to wait before the next attempt."""
from __future__ import annotations

import logging
import time

from sinks.metrics import SinkMetrics

log = logging.getLogger("creditstream.sink")


class Availability:
    def __init__(self, metrics: SinkMetrics, first_delay: float = 0.5, max_delay: float = 10.0):
        self.metrics = metrics
        self.first_delay = first_delay
        self.max_delay = max_delay
        self.down_since: float | None = None
        self.delay = first_delay

    @property
    def down(self) -> bool:
        return self.down_since is not None

    def failed(self, exc: BaseException) -> float:
        """Record a failed attempt; return how long to wait before the next one."""
        self.metrics.retries.inc()
        if self.down_since is None:
            self.down_since = time.monotonic()
            self.delay = self.first_delay
            self.metrics.unavailable.set(1)
            self.metrics.unavailable_episodes.inc()
            log.error("ClickHouse does not take writes; holding the batches and retrying with backoff: %s: %s",
                      type(exc).__name__, exc)
        else:
            self.delay = min(self.delay * 2, self.max_delay)
        return self.delay

    def succeeded(self) -> None:
        if self.down_since is not None:
            log.warning("ClickHouse takes writes again after %.1f s; resuming", time.monotonic() - self.down_since)
            self.down_since = None
            self.metrics.unavailable.set(0)
