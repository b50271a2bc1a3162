"""The cycle collector's settings for the long-running batch processes (worker, sink).

They make and drop many small objects per message — dicts, strings, tuples — almost none in a
reference cycle. With Python's default thresholds the collector rescans the survivors (caches,
tables, batches held) many times per batch: measured, a fifth of the worker's time per event and
nearly half of the sink's time per batch. Freeze what start-up made, then collect rarely.
"""
from __future__ import annotations

import gc


def relax_gc() -> None:
    """Throughput: freeze start-up's objects and collect rarely (worker, sink)."""
    freeze_survivors()
    gc.set_threshold(200_000, 20, 20)


def freeze_survivors() -> None:
    """Latency (the check service): what was built so far (its index) leaves the collector's
    sight, so that a full pass no longer walks it; young collections stay small and frequent,
    each well under a millisecond, rather than rare and long."""
    gc.collect()
    gc.freeze()
