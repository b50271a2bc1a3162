-- The history of accepted records and of rejections. {db} is the configured database.
CREATE TABLE IF NOT EXISTS {db}.records
(
    event_id          String,
    source_unit       LowCardinality(String),
    catalog           LowCardinality(String),
    category          LowCardinality(String),
    reporting_mode    LowCardinality(String),
    source_format     LowCardinality(String),
    reported_at       DateTime64(3, 'UTC'),
    processed_at      DateTime64(3, 'UTC'),
    ingested_at       DateTime64(3, 'UTC') DEFAULT now64(3),
    subject_type      LowCardinality(String),
    subject_key       String,
    subject_key_kind  LowCardinality(String),
    subject_name      Nullable(String),
    sex               LowCardinality(Nullable(String)),
    region_code       LowCardinality(Nullable(String)),
    document_number   Nullable(String),
    authority         Nullable(String),
    decision_date     Nullable(Date32),
    valid_until       Nullable(Date32),
    matter_name       Nullable(String),
    cause             Nullable(String),
    content           Nullable(String),
    timeliness_days   Nullable(Int32),
    late              Bool,
    duplicate_of      Nullable(String),
    prohibited_dropped Array(LowCardinality(String)),
    raw               Map(String, String),
    kafka_partition   UInt16,
    kafka_offset      UInt64,
    INDEX idx_event_id event_id TYPE bloom_filter(0.001) GRANULARITY 1,
    INDEX idx_ingested ingested_at TYPE minmax GRANULARITY 1
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(reported_at)
ORDER BY (source_unit, catalog, subject_key, event_id);

CREATE TABLE IF NOT EXISTS {db}.rejections
(
    event_id          String,
    source_unit       LowCardinality(String),
    catalog           LowCardinality(String),
    category          LowCardinality(String),
    reported_at       Nullable(DateTime64(3, 'UTC')),
    rejected_at       DateTime64(3, 'UTC'),
    ingested_at       DateTime64(3, 'UTC') DEFAULT now64(3),
    reason_codes      Array(LowCardinality(String)),
    reason_fields     Array(String),
    reason_messages   Array(String),
    origin_topic      LowCardinality(String),
    origin_partition  Int32,
    origin_offset     Int64,
    subject_masked    Nullable(String),
    original          Map(String, String),
    kafka_partition   UInt16,
    kafka_offset      UInt64,
    INDEX idx_event_id event_id TYPE bloom_filter(0.001) GRANULARITY 1,
    INDEX idx_ingested ingested_at TYPE minmax GRANULARITY 1
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(rejected_at)
ORDER BY (source_unit, catalog, rejected_at, event_id);
