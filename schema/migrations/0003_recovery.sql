-- Simpul store, schema version 3: recovery of a child restored from a backup.

-- GET /fed/v1/recover reads the events a child sent up since a time (its latest write before
-- the restore): by arrival time here, not by scanning every event.
CREATE INDEX events_stored ON events(stored_at);
