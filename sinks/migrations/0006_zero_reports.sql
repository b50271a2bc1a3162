-- Zero reports (零报送): a unit's "nothing new" for an indicator set and period. period_kind and
-- period_start are parsed from the period text by the sink (sinks/periods.py); OTHER and NULL when
-- the text is none of 2026-11, 2026-W47, 2026-Q4, so an odd period is stored, not refused.
CREATE TABLE IF NOT EXISTS {db}.zero_reports
(
    report_id        String,
    source_unit      LowCardinality(String),
    catalog          LowCardinality(String),
    period           String,
    period_kind      Enum8('MONTH' = 1, 'WEEK' = 2, 'QUARTER' = 3, 'OTHER' = 4),
    period_start     Nullable(Date32),
    reported_at      DateTime64(3, 'UTC'),
    reporter         LowCardinality(String),
    note             Nullable(String),
    reporting_mode   LowCardinality(String),
    ingested_at      DateTime64(3, 'UTC') DEFAULT now64(3),
    kafka_topic      LowCardinality(String),
    kafka_partition  UInt16,
    kafka_offset     UInt64
)
ENGINE = MergeTree
PARTITION BY toYear(reported_at)
ORDER BY (source_unit, catalog, period, reported_at)
SETTINGS non_replicated_deduplication_window = 10000;
