-- Retention by law (DOMAIN.md, seed 001): personal negative information is no longer published or
-- used 5 years after the end of the act; usage records (checks) are kept at least 5 years.
--
-- Chosen: a view filter, not a TTL. Why:
-- * The end of the act is not fixed when a record is stored: for open-ended lists (失信被执行人 ...)
--   it is the day the subject exits, which arrives later as a blacklist change. A TTL expression
--   sees only the row's own columns and cannot follow that.
-- * A TTL deletes at merge time, days late or early relative to the legal date, and for good; a
--   view is exact to the day, and a wrong rule is fixed by replacing the view, not by restoring
--   data. Physical deletion, where a law demands it, is a deliberate, audited operation.
-- * Stored rows never change under the sink: its batch replay depends on the rows stored at earlier
--   offsets staying put, and the per-unit counts stay equal to the base tables.
-- So nothing in the history expires; published reads go through records_published and
-- checks_published. The only TTL in the schema is the sink's own batch log (0003).

-- Negative categories, and which of them last until the subject exits a list (a NULL end of validity
-- there means "still running", not "ended at the decision").
CREATE OR REPLACE VIEW {db}.retention_categories AS
SELECT category, open_ended
FROM values('category String, open_ended UInt8',
            ('PENALTY', 0), ('ARREARS', 0),
            ('COURT_DISHONEST', 1), ('TAX_VIOLATION', 1), ('SERIOUS_DISHONEST', 1));

-- The latest state of every subject that was ever on a list, and the day it left (NULL while listed).
-- Latest by offset: one subject's changes are on one partition, in the order the worker made them.
CREATE OR REPLACE VIEW {db}.blacklist_current AS
SELECT subject_key,
       argMax(change, kafka_offset) AS last_change,
       argMax(status, kafka_offset) AS last_status,
       argMax(lists, kafka_offset) AS lists,
       max(changed_at) AS last_changed_at,
       if(last_change = 'TOMBSTONE' OR last_status IN ('EXITED', 'REPAIRED'),
          toDate32(coalesce(argMax(status_since, kafka_offset), last_changed_at), 'Asia/Shanghai'),
          NULL) AS exited_on
FROM {db}.blacklist_history
GROUP BY subject_key;

-- Why each personal negative record is or is not withheld: act_ended_on is the end of validity,
-- else (open-ended lists) the exit from the list, else the decision date, else the report day.
CREATE OR REPLACE VIEW {db}.records_retention AS
SELECT r.event_id AS event_id,
       r.subject_key AS subject_key,
       r.category AS category,
       multiIf(r.valid_until IS NOT NULL, r.valid_until,
               c.open_ended = 1, b.exited_on,
               coalesce(r.decision_date, toDate32(r.reported_at, 'Asia/Shanghai'))) AS act_ended_on,
       act_ended_on IS NOT NULL
           AND addYears(act_ended_on, 5) <= toDate32(now('Asia/Shanghai')) AS withheld
FROM {db}.records AS r
INNER JOIN {db}.retention_categories AS c ON c.category = r.category
LEFT JOIN {db}.blacklist_current AS b ON b.subject_key = r.subject_key
WHERE r.subject_type = 'NATURAL_PERSON' OR r.subject_key_kind IN ('ID_NUMBER', 'ID_NUMBER_MASKED')
SETTINGS join_use_nulls = 1;

CREATE OR REPLACE VIEW {db}.records_published AS
SELECT *
FROM {db}.records
WHERE event_id NOT IN (SELECT event_id FROM {db}.records_retention WHERE withheld);

-- Checks stay (usage records), but a hit on a negative list about a person is withheld from the
-- published view once its end (the hit's end date, or all its basis records withheld) is 5 years past.
-- Positive lists and organisations are untouched; `listed` stays true only if a listed hit remains.
CREATE OR REPLACE VIEW {db}.checks_published AS
WITH (SELECT groupArray(category) FROM {db}.retention_categories) AS negative_lists,
     (SELECT groupUniqArray(event_id) FROM {db}.records_retention WHERE withheld) AS withheld_records
SELECT * EXCEPT (withheld_hits) REPLACE (
           listed AND arrayExists((s, w) -> s = 'ACTIVE' AND NOT w, hit_statuses, withheld_hits) AS listed,
           arrayFilter((x, w) -> NOT w, hit_lists, withheld_hits) AS hit_lists,
           arrayFilter((x, w) -> NOT w, hit_statuses, withheld_hits) AS hit_statuses,
           arrayFilter((x, w) -> NOT w, hit_subject_keys, withheld_hits) AS hit_subject_keys,
           arrayFilter((x, w) -> NOT w, hit_since, withheld_hits) AS hit_since,
           arrayFilter((x, w) -> NOT w, hit_until, withheld_hits) AS hit_until,
           arrayFilter((x, w) -> NOT w, hit_basis_event_ids, withheld_hits) AS hit_basis_event_ids)
FROM
(
    SELECT *,
           arrayMap((list, until, basis) ->
                        (subject_type = 'NATURAL_PERSON' OR subject_key_kind IN ('ID_NUMBER', 'ID_NUMBER_MASKED'))
                        AND has(negative_lists, list)
                        AND ((until IS NOT NULL AND addYears(until, 5) <= toDate32(now('Asia/Shanghai')))
                             OR (notEmpty(basis) AND arrayAll(e -> has(withheld_records, e), basis))),
                    hit_lists, hit_until, hit_basis_event_ids) AS withheld_hits
    FROM {db}.checks
);
