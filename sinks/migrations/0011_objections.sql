-- 异议 (objections): every transition from credit.objections, one row each (filed, forwarded to
-- the provider, answered, verified, resolved), with the statutory steps it opened or finished as
-- parallel arrays. Kept: no TTL.
CREATE TABLE IF NOT EXISTS {db}.objection_events
(
    event_id          String,
    objection_id      String,
    sequence          UInt32,
    transition        LowCardinality(String),
    state             LowCardinality(String),
    at                DateTime64(3, 'UTC'),
    actor             LowCardinality(String),
    actor_unit        LowCardinality(String),
    subject_key       String,
    subject_masked    Nullable(String),
    basis_event_id    String,
    category          LowCardinality(String),
    document_number   Nullable(String),
    source_unit       LowCardinality(String),
    outcome           Nullable(String),
    reason            Nullable(String),
    step_names        Array(LowCardinality(String)),
    step_due_at       Array(Nullable(DateTime64(3, 'UTC'))),
    step_done_at      Array(Nullable(DateTime64(3, 'UTC'))),
    control_event_id  Nullable(String),
    ingested_at       DateTime64(3, 'UTC') DEFAULT now64(3),
    kafka_topic       LowCardinality(String),
    kafka_partition   UInt16,
    kafka_offset      UInt64
)
ENGINE = MergeTree
PARTITION BY toYear(at)
ORDER BY (objection_id, sequence)
SETTINGS non_replicated_deduplication_window = 10000;
-- One row per objection and statutory step: its deadline and when it was finished (NULL while
-- open). What the compliance report's objections-past-deadline part reads.
CREATE VIEW IF NOT EXISTS {db}.objection_deadlines AS
SELECT objection_id, any(source_unit) AS source_unit, step, max(due_at) AS due_at, min(done_at) AS done_at
FROM
(
    SELECT objection_id, source_unit, step, due_at, done_at
    FROM (SELECT DISTINCT event_id, objection_id, source_unit, step_names, step_due_at, step_done_at
          FROM {db}.objection_events)
    ARRAY JOIN step_names AS step, step_due_at AS due_at, step_done_at AS done_at
)
GROUP BY objection_id, step;
