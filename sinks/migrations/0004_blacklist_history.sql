-- Every state change of every joint-punishment list entry, as read from the compacted
-- credit.blacklist topic (where only the latest state per subject survives): the history lives here.
-- A tombstone (the subject left every list) is a row with change = 'TOMBSTONE' and empty lists.
CREATE TABLE IF NOT EXISTS {db}.blacklist_history
(
    change_id               String,
    subject_key             String,
    change                  Enum8('UPSERT' = 1, 'TOMBSTONE' = 2),
    subject_type            LowCardinality(String),
    subject_name            Nullable(String),
    lists                   Array(LowCardinality(String)),
    basis_event_ids         Array(String),
    basis_categories        Array(LowCardinality(String)),
    basis_source_units      Array(LowCardinality(String)),
    basis_document_numbers  Array(Nullable(String)),
    basis_authorities       Array(Nullable(String)),
    basis_decision_dates    Array(Nullable(Date32)),
    basis_valid_until       Array(Nullable(Date32)),
    basis_statuses          Array(Enum8('ACTIVE' = 1, 'SUSPENDED' = 2, 'EXITED' = 3, 'REPAIRED' = 4)),
    since                   Nullable(Date32),
    until                   Nullable(Date32),
    status                  Nullable(Enum8('ACTIVE' = 1, 'SUSPENDED' = 2, 'EXITED' = 3, 'REPAIRED' = 4)),
    status_since            Nullable(DateTime64(3, 'UTC')),
    status_reason           Nullable(String),
    subject_key_kind        LowCardinality(String),
    changed_at              DateTime64(3, 'UTC'),
    ingested_at             DateTime64(3, 'UTC') DEFAULT now64(3),
    kafka_topic             LowCardinality(String),
    kafka_partition         UInt16,
    kafka_offset            UInt64
)
ENGINE = MergeTree
PARTITION BY toYear(changed_at)
ORDER BY (subject_key, changed_at, kafka_offset)
SETTINGS non_replicated_deduplication_window = 10000;
