"""The cycle collector's settings for the long-running batch processes (worker, sink).

They make and drop many small objects per message — dicts, strings, tuples — almost none in a
reference cycle. With Python's default thresholds the collector rescans the survivors (caches,
tables, batches held) many times per batch: measured, a fifth of the worker's time per event and
nearly half of the sink's time per batch. Freeze what start-up made, then collect rarely.
"""
from __future__ import annotations

import gc


def relax_gc() -> None:
    gc.collect()
    gc.freeze()
    gc.set_threshold(200_000, 20, 20)
