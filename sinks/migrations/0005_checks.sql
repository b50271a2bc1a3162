-- The audit of approval-window checks (逢报必查), one row per CheckRecord from credit.checks.
-- Usage records are kept at least 5 years: no TTL here, ever (see sinks/README.md, retention).
-- Hits are parallel arrays (one element per list hit) so that per-list counts need no JOIN.
CREATE TABLE IF NOT EXISTS {db}.checks
(
    check_id             String,
    requested_at         DateTime64(3, 'UTC'),
    requesting_unit      LowCardinality(String),
    caller               LowCardinality(String),
    matter_kind          LowCardinality(String),
    matter_name          Nullable(String),
    matter_reference     Nullable(String),
    subject_key          String,
    subject_key_kind     LowCardinality(String),
    subject_type         LowCardinality(String),
    subject_name         Nullable(String),
    match                Enum8('KEY' = 1, 'NAME' = 2),
    listed               Bool,
    hit_lists            Array(LowCardinality(String)),
    hit_statuses         Array(Enum8('ACTIVE' = 1, 'SUSPENDED' = 2, 'EXITED' = 3, 'REPAIRED' = 4)),
    hit_subject_keys     Array(String),
    hit_since            Array(Nullable(Date32)),
    hit_until            Array(Nullable(Date32)),
    hit_basis_event_ids  Array(Array(String)),
    index_version        String,
    index_as_of          Nullable(DateTime64(3, 'UTC')),
    index_stale          Bool,
    ingested_at          DateTime64(3, 'UTC') DEFAULT now64(3),
    kafka_topic          LowCardinality(String),
    kafka_partition      UInt16,
    kafka_offset         UInt64,
    INDEX idx_subject_key subject_key TYPE bloom_filter(0.01) GRANULARITY 1
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(requested_at)
ORDER BY (requesting_unit, requested_at, check_id)
SETTINGS non_replicated_deduplication_window = 10000;
