-- Queries of non-public detail of published records (公示信息的非公开内容): who asked (token, unit,
-- address), when, for which record and subject, and for what purpose. Usage records are kept at
-- least 5 years (DOMAIN.md): no TTL.
CREATE TABLE IF NOT EXISTS {db}.publication_queries
(
    query_id        String,
    at              DateTime64(3, 'UTC'),
    token_id        LowCardinality(String),
    unit            LowCardinality(String),
    client_address  String,
    record_id       String,
    subject_key     String,
    category        LowCardinality(String),
    purpose         Nullable(String),
    found           Bool
)
ENGINE = MergeTree
PARTITION BY toYear(at)
ORDER BY (at, query_id);
