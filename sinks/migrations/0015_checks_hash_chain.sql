-- Provable audit: each check row holds the hash of the row before it in its credit.checks
-- partition (creditstream/domain/audit_chain.py); the sink computes both as it stores rows in
-- offset order, and `creditstream audit verify` recomputes them. Rows stored before this
-- migration have empty hashes and are reported as unchained.
ALTER TABLE {db}.checks ADD COLUMN IF NOT EXISTS prev_hash String DEFAULT '';
ALTER TABLE {db}.checks ADD COLUMN IF NOT EXISTS hash String DEFAULT ''
