-- Like every table written by inserts that may be retried: the same insert twice is stored once.
ALTER TABLE {db}.publication_queries MODIFY SETTING non_replicated_deduplication_window = 10000
