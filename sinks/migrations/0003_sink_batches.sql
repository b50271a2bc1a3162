-- The sink's batch log: each (topic, partition, first offset, last offset) is written before the batch
-- is inserted, so a batch replayed after a crash is cut at exactly the same offsets and carries the
-- same insert deduplication token (ClickHouse then drops what was already stored).
-- A technical log, not history: it expires on purpose after 30 days, long after any replay.
CREATE TABLE IF NOT EXISTS {db}.sink_batches
(
    kafka_topic      LowCardinality(String),
    kafka_partition  UInt16,
    first_offset     UInt64,
    last_offset      UInt64,
    logged_at        DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = MergeTree
ORDER BY (kafka_topic, kafka_partition, first_offset)
TTL toDateTime(logged_at) + INTERVAL 30 DAY;
