-- Natural persons' ID numbers are pseudonymised past validation (creditstream/domain/pseudonym.py):
-- subject_key holds the keyed hash; these columns hold the masked form for display and the sealed
-- (AES-GCM) number for the read_personal scope. The key id leads every sealed value
-- ("k2:..."), so a key rotation re-seals rows by prefix (`creditstream keys rotate`).
ALTER TABLE {db}.records
    ADD COLUMN IF NOT EXISTS subject_masked                 Nullable(String),
    ADD COLUMN IF NOT EXISTS subject_sealed                 Nullable(String),
    ADD COLUMN IF NOT EXISTS legal_representative_id_key    Nullable(String),
    ADD COLUMN IF NOT EXISTS legal_representative_id_masked Nullable(String),
    ADD COLUMN IF NOT EXISTS legal_representative_id_sealed Nullable(String);
ALTER TABLE {db}.blacklist_history
    ADD COLUMN IF NOT EXISTS subject_masked Nullable(String),
    ADD COLUMN IF NOT EXISTS subject_sealed Nullable(String)
