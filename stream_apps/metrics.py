"""The worker's Prometheus metrics. Counted per batch (one increment per label set), not per
event: a per-event `inc()` would cost more than the rules do."""
from __future__ import annotations

import time
from collections import Counter as Tally

from prometheus_client import Counter, Gauge, Histogram

EVENTS_IN = Counter("creditstream_stream_events_in_total", "Inbound events read, per unit and category",
                    ["unit", "category"])
EVENTS_OUT = Counter("creditstream_stream_events_out_total",
                     "Inbound events handled, per unit, category and outcome (record, duplicate, rejected, replay)",
                     ["unit", "category", "outcome"])
REJECTS = Counter("creditstream_stream_rejects_total", "Reasons given in rejections, per reason code", ["reason"])
PROHIBITED = Counter("creditstream_stream_prohibited_dropped_total",
                     "Prohibited attributes removed before writing, per unit and attribute", ["unit", "attribute"])
BATCH_SECONDS = Histogram("creditstream_stream_batch_seconds", "Time to process and commit one batch",
                          buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
LATENCY = Histogram("creditstream_stream_latency_seconds",
                    "From an event's append to credit.inbound to the commit of its outputs (oldest and newest of each batch)",
                    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300))
BATCH_EVENTS = Histogram("creditstream_stream_batch_events", "Events per batch",
                         buckets=(1, 10, 100, 500, 1000, 2000, 5000, 10000, 20000))
LAG = Gauge("creditstream_stream_consumer_lag", "Messages of credit.inbound not yet processed, per partition",
            ["partition"])
ASSIGNED = Gauge("creditstream_stream_assigned_partitions", "Inbound partitions this worker owns")
LATE = Counter("creditstream_stream_late_total", "Records stored past their unit's reporting deadline, per unit",
               ["unit"])
LIST_SUBJECTS = Gauge("creditstream_stream_list_subjects",
                      "Subjects on a list (black, red) in the partitions this worker owns", ["list"])
LIST_CHANGES = Counter("creditstream_stream_list_changes_total",
                       "Subjects entering (joined) or leaving (left) a list", ["list", "change"])
LISTS = ("black", "red")


def observe_batch(stats, inbound, seconds: float) -> None:
    for (unit, category), n in stats.events_in.items():
        EVENTS_IN.labels(unit, category).inc(n)
    for (unit, category, outcome), n in stats.events_out.items():
        EVENTS_OUT.labels(unit, category, outcome).inc(n)
    for reason, n in stats.rejects.items():
        REJECTS.labels(reason).inc(n)
    for (unit, attribute), n in stats.prohibited.items():
        PROHIBITED.labels(unit, attribute).inc(n)
    BATCH_SECONDS.observe(seconds)
    if inbound:
        BATCH_EVENTS.observe(len(inbound))
        now_ms = time.time() * 1000
        for msg in (inbound[0], inbound[-1]):
            if msg.timestamp_ms:
                LATENCY.observe(max(now_ms - msg.timestamp_ms, 0) / 1000)


def observe_lag(consumer, partitions, topic: str) -> None:
    from confluent_kafka import TopicPartition

    if not partitions:
        return
    tps = [TopicPartition(topic, p) for p in sorted(partitions)]
    for tp in consumer.position(tps):
        try:
            _low, high = consumer.get_watermark_offsets(tp, cached=True)
        except Exception:  # no statistics yet for this partition
            continue
        if high >= 0 and tp.offset >= 0:
            LAG.labels(str(tp.partition)).set(max(high - tp.offset, 0))


def _listed(state) -> bool:
    return bool(state and state.get("listed"))


def count_listed(list_table) -> None:
    """Recount the listed subjects of the owned partitions: after a restore or a revoke."""
    sizes = Tally(key.split("|", 1)[0] for part in list_table.data.values()
                  for key, state in part.items() if _listed(state))
    for kind in set(LISTS) | set(sizes):
        LIST_SUBJECTS.labels(kind).set(sizes[kind])


def observe_changes(tables) -> None:
    """Late reports and list flow, read from what the batch is about to commit to the tables
    (call before `commit()`): the batch step already counted them there, so no second pass over
    the events is needed, and an aborted batch counts nothing."""
    counts = tables.unit_day_to_counts
    for (partition, key), after in counts.pending.items():
        before = (counts.data.get(partition) or {}).get(key) or {}
        late = (after or {}).get("late", 0) - before.get("late", 0)
        if late > 0:
            LATE.labels(key.split("|", 1)[0]).inc(late)
    lists = tables.subject_to_list_state
    for (partition, key), after in lists.pending.items():
        was, now = _listed((lists.data.get(partition) or {}).get(key)), _listed(after)
        if was != now:
            kind = key.split("|", 1)[0]
            LIST_CHANGES.labels(kind, "joined" if now else "left").inc()
            LIST_SUBJECTS.labels(kind).inc(1 if now else -1)
