-- Simpul store, schema version 4: an ingest's idempotent answer is derived, not stored again.

-- An answer the events can give back (the complaint as its events up to `through_seq` fold)
-- keeps only that position; `response_json` is then ''. Older rows keep their JSON.
ALTER TABLE idempotency ADD COLUMN through_seq INTEGER;
