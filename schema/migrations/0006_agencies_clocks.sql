-- Simpul store, schema version 6: agency scopes and SLA clocks that act.

-- A token may be bound to agencies (comma-separated ids): it then lists, reads and acts only on
-- the complaints that are or were with one of them. NULL: not bound.
ALTER TABLE api_tokens ADD COLUMN agencies TEXT;

-- Every agency a complaint was disposed or forwarded to (the fold's `agencies`), kept with the
-- projection so an agency-bound list selects by index. Filled from each complaint's current
-- agency here; the node re-folds every complaint once after this migration (the projection
-- version changes), which adds the agencies a complaint passed through before.
CREATE TABLE complaint_agencies (
  agency       TEXT NOT NULL,
  complaint_id TEXT NOT NULL REFERENCES complaints(id) DEFERRABLE INITIALLY DEFERRED,
  PRIMARY KEY (agency, complaint_id)
) WITHOUT ROWID;
CREATE INDEX complaint_agencies_complaint ON complaint_agencies(complaint_id);
INSERT INTO complaint_agencies(agency, complaint_id)
  SELECT agency, id FROM complaints WHERE agency IS NOT NULL;
CREATE INDEX complaints_agency ON complaints(agency);

-- When the SLA scheduler next has something to do for a complaint whose clocks this node owns
-- (a warning or a breach), NULL when nothing. Derived from the fold and the calendar in force;
-- the scheduler reads only the rows due, by this index, however many complaints are stored.
ALTER TABLE complaints ADD COLUMN sla_next_at INTEGER;
CREATE INDEX complaints_sla_next ON complaints(sla_next_at) WHERE sla_next_at IS NOT NULL;

-- Full text over each complaint's title and body, for the list's `q`: one row per complaint,
-- its rowid the complaint row's. Written with the projection (only when the text changed);
-- filled for stored complaints by the refold the node runs after this migration.
CREATE VIRTUAL TABLE complaints_fts USING fts5(title, body,
  tokenize = 'unicode61 remove_diacritics 2');
