-- 黑名单反馈: what an approval window did with a check's answer (credit.check_feedback), counted
-- for the joint-punishment statistics. Joined to checks by check_id. No TTL: usage records stay.
CREATE TABLE IF NOT EXISTS {db}.check_feedback
(
    feedback_id      String,
    check_id         String,
    reported_at      DateTime64(3, 'UTC'),
    requesting_unit  LowCardinality(String),
    caller           LowCardinality(String),
    outcome          Enum8('REFUSED' = 1, 'CONDITIONED' = 2, 'APPROVED' = 3),
    measures         Array(LowCardinality(String)),
    reason           Nullable(String),
    ingested_at      DateTime64(3, 'UTC') DEFAULT now64(3),
    kafka_topic      LowCardinality(String),
    kafka_partition  UInt16,
    kafka_offset     UInt64
)
ENGINE = MergeTree
PARTITION BY toYear(reported_at)
ORDER BY (requesting_unit, reported_at, check_id)
SETTINGS non_replicated_deduplication_window = 10000;
