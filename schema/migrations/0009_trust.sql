-- Simpul store, schema version 9: credentials that expire and that name one officer, and an
-- audit log whose entries are chained by hash (core/audit_chain.hpp).

-- When the token stops being accepted (NULL: never). A rotated token keeps working until the
-- end of its grace period, then expires.
ALTER TABLE api_tokens ADD COLUMN expires_at INTEGER;
-- 1: the credential of one officer (a person, bound to an agency): the actor of what it writes.
ALTER TABLE api_tokens ADD COLUMN officer INTEGER NOT NULL DEFAULT 0;

-- Each entry holds the hash of the one before it and its own hash over its fields and that
-- link: a row edited, removed or inserted by hand breaks the chain where it was touched. Rows
-- from before this version are chained when the store is migrated (SqliteStore::migrate).
ALTER TABLE audit_log ADD COLUMN prev_hash TEXT;
ALTER TABLE audit_log ADD COLUMN hash TEXT;
CREATE INDEX audit_log_target ON audit_log(target, id);
CREATE INDEX audit_log_at ON audit_log(at);
