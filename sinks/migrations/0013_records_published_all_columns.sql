-- records_published (0008) is `SELECT *` over records, and a view's `*` is expanded when it is
-- created: the columns added since (0009: subject_masked, subject_sealed, the legal
-- representative's) were missing from it. The same view again, over today's columns; a later
-- migration that adds columns to records recreates it the same way.
CREATE OR REPLACE VIEW {db}.records_published AS
SELECT *
FROM {db}.records
WHERE event_id NOT IN (SELECT event_id FROM {db}.records_retention WHERE withheld);
