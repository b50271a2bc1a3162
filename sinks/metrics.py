"""What the sink tells Prometheus. A registry per sink, so tests and benchmarks start from zero."""
from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector, generate_latest

_ROW_BUCKETS = (1, 10, 100, 1_000, 5_000, 10_000, 20_000, 50_000, 100_000, 200_000)
_SECOND_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


class SinkMetrics:
    def __init__(self, registry: CollectorRegistry | None = None):
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.batch_rows = Histogram("creditstream_sink_batch_rows", "Messages in a stored batch, per table.",
                                    ["table"], buckets=_ROW_BUCKETS, registry=r)
        self.insert_seconds = Histogram("creditstream_sink_insert_seconds", "Time of one successful insert.",
                                        ["table"], buckets=_SECOND_BUCKETS, registry=r)
        self.rows_stored = Counter("creditstream_sink_rows_stored_total",
                                   "Rows sent to ClickHouse in successful inserts (a replayed batch that "
                                   "ClickHouse deduplicates is counted again).", ["table"], registry=r)
        self.replays_dropped = Counter("creditstream_sink_replays_dropped_total",
                                       "Messages not stored because their event id was already stored.",
                                       ["table"], registry=r)
        self.undecodable = Counter("creditstream_sink_undecodable_total",
                                   "Messages that could not be read, stored as rejections.", ["topic"], registry=r)
        self.lag = Gauge("creditstream_sink_lag_messages", "High watermark minus committed offset.",
                         ["topic", "partition"], registry=r)
        self.unavailable = Gauge("creditstream_sink_clickhouse_unavailable",
                                 "1 while ClickHouse refuses the sink's writes, else 0.", registry=r)
        self.unavailable_episodes = Counter("creditstream_sink_clickhouse_unavailable_episodes_total",
                                            "Times ClickHouse became unavailable.", registry=r)
        self.retries = Counter("creditstream_sink_retries_total", "Failed attempts to store a batch.", registry=r)
        self.store_faults = Counter("creditstream_sink_store_faults_total",
                                    "Failed attempts to store a batch that were the sink's own error, not "
                                    "ClickHouse's (the log names the exception's type and place).", registry=r)
        self.buffered = Gauge("creditstream_sink_buffered_messages", "Messages read and not yet stored.",
                              registry=r)
        # Process health (memory, CPU, open files) as every process reports it: the worker's comes
        # with prometheus-client's default registry, this registry is the sink's own.
        ProcessCollector(registry=r)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
