-- Simpul store, schema version 5: nothing kept twice that the store can give back.

-- The projection keeps what lists and filters select on; the complaint itself is its events
-- folded (as GET /v1/complaints/{id} always did), so the folded JSON is no longer stored.
ALTER TABLE complaints DROP COLUMN state_json;

-- A source's raw payload repeats most of the `created` record normalized from it. `packing`
-- NULL: `body` is the bytes as sent. 1: `body` is those bytes DEFLATEd with the complaint's
-- `created` payload as preset dictionary (lossless; that payload is append-only).
-- Its SHA-256 was never read and can be computed from the body.
ALTER TABLE raw_payloads DROP COLUMN sha256;
ALTER TABLE raw_payloads ADD COLUMN packing INTEGER;

-- Nothing reads an outbox row by complaint: the row's event names it. (raw_payloads keeps its
-- index on complaint_id: without it, the deferred foreign key makes SQLite scan every raw
-- payload when a complaint row is inserted while a ref to it is pending.)
DROP INDEX outbox_complaint;
ALTER TABLE outbox DROP COLUMN complaint_id;

