-- Counts per source unit, indicator set (catalog) and category, per minute, day and month: records,
-- rejected, late, duplicates; 入库合格率 = records / (records + rejected), computed when read
-- (a ratio does not sum). Dashboards and reports read these instead of scanning the history.
--
-- The minute table is fed by one materialized view per base table; day and month are fed from
-- the minute table, so a base insert runs two small aggregations, not six. Read with sum() ...
-- GROUP BY: SummingMergeTree folds rows only when parts merge.
-- Day and month are calendar days and months in Beijing time (Asia/Shanghai): monthly reports
-- are due by the 23rd and zero reports by the 25th of the local month. Minutes are time zone free.
-- The time is the report time (reported_at; rejected_at when a rejection has none).
-- Every target keeps a deduplication window: a batch the sink replays with the same token is
-- dropped here as in the base table, so the counts never double.
CREATE TABLE IF NOT EXISTS {db}.unit_counts_minute
(
    minute       DateTime('UTC'),
    source_unit  LowCardinality(String),
    catalog      LowCardinality(String),
    category     LowCardinality(String),
    records      UInt64,
    rejected     UInt64,
    late         UInt64,
    duplicates   UInt64
)
ENGINE = SummingMergeTree
PARTITION BY toYYYYMM(minute)
ORDER BY (source_unit, catalog, category, minute)
SETTINGS non_replicated_deduplication_window = 10000;

CREATE TABLE IF NOT EXISTS {db}.unit_counts_day
(
    day          Date,
    source_unit  LowCardinality(String),
    catalog      LowCardinality(String),
    category     LowCardinality(String),
    records      UInt64,
    rejected     UInt64,
    late         UInt64,
    duplicates   UInt64
)
ENGINE = SummingMergeTree
PARTITION BY toYear(day)
ORDER BY (source_unit, catalog, category, day)
SETTINGS non_replicated_deduplication_window = 10000;

CREATE TABLE IF NOT EXISTS {db}.unit_counts_month
(
    month        Date,
    source_unit  LowCardinality(String),
    catalog      LowCardinality(String),
    category     LowCardinality(String),
    records      UInt64,
    rejected     UInt64,
    late         UInt64,
    duplicates   UInt64
)
ENGINE = SummingMergeTree
ORDER BY (source_unit, catalog, category, month)
SETTINGS non_replicated_deduplication_window = 10000;

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.unit_counts_day_mv TO {db}.unit_counts_day AS
SELECT toDate(minute, 'Asia/Shanghai') AS day, source_unit, catalog, category,
       sum(records) AS records, sum(rejected) AS rejected, sum(late) AS late, sum(duplicates) AS duplicates
FROM {db}.unit_counts_minute
GROUP BY day, source_unit, catalog, category;

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.unit_counts_month_mv TO {db}.unit_counts_month AS
SELECT toStartOfMonth(day) AS month, source_unit, catalog, category,
       sum(records) AS records, sum(rejected) AS rejected, sum(late) AS late, sum(duplicates) AS duplicates
FROM {db}.unit_counts_day
GROUP BY month, source_unit, catalog, category;

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.unit_counts_records_mv TO {db}.unit_counts_minute AS
SELECT toStartOfMinute(reported_at) AS minute, source_unit, catalog, category,
       count() AS records, toUInt64(0) AS rejected, countIf(late) AS late,
       countIf(duplicate_of IS NOT NULL) AS duplicates
FROM {db}.records
GROUP BY minute, source_unit, catalog, category;

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.unit_counts_rejections_mv TO {db}.unit_counts_minute AS
SELECT toStartOfMinute(coalesce(reported_at, rejected_at)) AS minute, source_unit, catalog, category,
       toUInt64(0) AS records, count() AS rejected, toUInt64(0) AS late, toUInt64(0) AS duplicates
FROM {db}.rejections
GROUP BY minute, source_unit, catalog, category;

-- History stored before these views existed (a database migrated from 0001): counted once, through
-- the minute table, whose views carry it on to day and month. Skipped when the minute table already
-- holds rows, so running this file again counts nothing twice.
INSERT INTO {db}.unit_counts_minute
SELECT minute, source_unit, catalog, category, sum(records), sum(rejected), sum(late), sum(duplicates)
FROM
(
    SELECT toStartOfMinute(reported_at) AS minute, source_unit, catalog, category,
           count() AS records, toUInt64(0) AS rejected, countIf(late) AS late,
           countIf(duplicate_of IS NOT NULL) AS duplicates
    FROM {db}.records
    GROUP BY minute, source_unit, catalog, category
    UNION ALL
    SELECT toStartOfMinute(coalesce(reported_at, rejected_at)) AS minute, source_unit, catalog, category,
           toUInt64(0), count(), toUInt64(0), toUInt64(0)
    FROM {db}.rejections
    GROUP BY minute, source_unit, catalog, category
)
WHERE (SELECT count() FROM {db}.unit_counts_minute) = 0
GROUP BY minute, source_unit, catalog, category;
