"""Per-token request rate limits: a token bucket per token id, so one unit's runaway system cannot
starve the others. Any FastAPI app that sets ``app.state.rate_limiter`` gets it through
``require(scope)``; an app without one is unlimited."""
from __future__ import annotations

import math
import threading
import time


class RateLimiter:
    """``rate`` requests a second on average per key, up to ``burst`` at once."""

    def __init__(self, rate: float, burst: int, clock=time.monotonic, max_keys: int = 100_000):
        if rate <= 0 or burst < 1:
            raise ValueError("a rate limit needs rate > 0 and burst >= 1")
        self.rate, self.burst, self.clock, self.max_keys = float(rate), float(burst), clock, max_keys
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, at)
        self._lock = threading.Lock()  # sync endpoints run on a thread pool

    def take(self, key: str) -> float:
        """0 when the request may go ahead (and is counted), else the seconds until it may."""
        now = self.clock()
        with self._lock:
            tokens, at = self._buckets.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - at) * self.rate)
            if tokens >= 1:
                if len(self._buckets) >= self.max_keys and key not in self._buckets:
                    self._buckets.clear()  # ids are of issued tokens, so this is never reached in practice
                self._buckets[key] = (tokens - 1, now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1 - tokens) / self.rate


def retry_after(seconds: float) -> str:
    return str(max(1, math.ceil(seconds)))
