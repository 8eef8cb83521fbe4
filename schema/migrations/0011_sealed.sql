-- Simpul store, schema version 11: reporters' identities sealed at rest (core/seal.hpp,
-- docs/operations.md "Personal data at rest").

-- An event that names the reporter (a `created` record's reporter, an `amended` fields.reporter,
-- the citizen's name as actor) is kept in `events` without it; the event as it came is sealed
-- here (AES-256-GCM under the key `key_id`, bound to its event id) and read back whole. A key
-- rotation re-seals these rows; the event rows never change for it.
CREATE TABLE sealed_events (
  event_id TEXT PRIMARY KEY,
  key_id   TEXT NOT NULL,
  sealed   BLOB NOT NULL
) WITHOUT ROWID;
CREATE INDEX sealed_events_key ON sealed_events(key_id);

-- A source's raw payload, as sent, holds the reporter too: with key_id set, `body` is sealed
-- under that key (and, inside, packed as `packing` says).
ALTER TABLE raw_payloads ADD COLUMN key_id TEXT;
CREATE INDEX raw_payloads_key ON raw_payloads(key_id);

-- Events stay append-only, with one exception: an event written before its identity was sealed
-- (an older store, or one opened without a key) may have its payload and actor replaced by the
-- same event without the identity, once the event as it was is in sealed_events. Nothing else
-- of it may change, and reading it back gives the event as it was.
DROP TRIGGER events_append_only_update;
CREATE TRIGGER events_append_only_update BEFORE UPDATE ON events
WHEN NOT (NEW.seq = OLD.seq AND NEW.event_id = OLD.event_id
          AND NEW.complaint_id = OLD.complaint_id AND NEW.origin = OLD.origin
          AND NEW.at = OLD.at AND NEW.kind = OLD.kind AND NEW.hops_json = OLD.hops_json
          AND NEW.stored_at = OLD.stored_at
          AND EXISTS (SELECT 1 FROM sealed_events s WHERE s.event_id = OLD.event_id))
BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;

-- How far the sealing of older events has come is the cursor `store.sealed_through` (the seq of
-- the last event looked at; none: from the start), written by the sealer (ledger/sealer.hpp).
