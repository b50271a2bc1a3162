-- Every row says which topic it was read from: rejections come from several topics (credit.rejected
-- and undecodable messages of any topic), and the sink's replay guard looks rows up by
-- (topic, partition, offset).
ALTER TABLE {db}.records ADD COLUMN IF NOT EXISTS kafka_topic LowCardinality(String) DEFAULT '';
ALTER TABLE {db}.rejections ADD COLUMN IF NOT EXISTS kafka_topic LowCardinality(String) DEFAULT '';

-- The sink gives every insert a deduplication token built from its Kafka range; a non-replicated
-- MergeTree only remembers tokens when this window is set. 10,000 blocks is far more than the
-- inserts that can happen between a crashed insert and its replay at restart.
ALTER TABLE {db}.records MODIFY SETTING non_replicated_deduplication_window = 10000;
ALTER TABLE {db}.rejections MODIFY SETTING non_replicated_deduplication_window = 10000;

-- Per-subject history across units (WHERE subject_key = ...): the sort key starts with the unit,
-- so a bloom filter lets such queries skip the granules that cannot hold the subject.
ALTER TABLE {db}.records ADD INDEX IF NOT EXISTS idx_subject_key subject_key TYPE bloom_filter(0.01) GRANULARITY 1;
ALTER TABLE {db}.records MATERIALIZE INDEX idx_subject_key;

-- Fields of the released ValidatedRecord v1 and Rejection v1 (avro_schemas/schemas/history).
ALTER TABLE {db}.records
    ADD COLUMN IF NOT EXISTS reported_by          Nullable(String),
    ADD COLUMN IF NOT EXISTS source_ref           Nullable(String),
    ADD COLUMN IF NOT EXISTS legal_representative Nullable(String),
    ADD COLUMN IF NOT EXISTS document_name        Nullable(String),
    ADD COLUMN IF NOT EXISTS authority_code       Nullable(String),
    ADD COLUMN IF NOT EXISTS valid_from           Nullable(Date32),
    ADD COLUMN IF NOT EXISTS decision_status      LowCardinality(Nullable(String)),
    ADD COLUMN IF NOT EXISTS matter_kind          LowCardinality(Nullable(String)),
    ADD COLUMN IF NOT EXISTS legal_basis          Nullable(String),
    ADD COLUMN IF NOT EXISTS other_ids            Map(String, String),
    ADD COLUMN IF NOT EXISTS flags                Array(LowCardinality(String));
ALTER TABLE {db}.rejections
    ADD COLUMN IF NOT EXISTS source_ref  Nullable(String),
    ADD COLUMN IF NOT EXISTS reported_by Nullable(String);
