-- Simpul store, schema version 6: agency scopes, SLA clocks that act, full-text search.

-- A token may be bound to agencies (comma-separated ids): it then lists, reads and acts only on
-- the complaints that are or were with one of them. NULL: not bound.
ALTER TABLE api_tokens ADD COLUMN agencies TEXT;

-- The agencies a complaint was with before the one holding it now (complaints.agency): what an
-- agency-bound list selects on besides the current agency. Most complaints reach one agency and
-- have no row here. The node re-folds every complaint once after this migration (the
-- projection version changes), which fills it.
CREATE TABLE complaint_agencies (
  agency       TEXT NOT NULL,
  complaint_id TEXT NOT NULL REFERENCES complaints(id) DEFERRABLE INITIALLY DEFERRED,
  PRIMARY KEY (agency, complaint_id)
) WITHOUT ROWID;
CREATE INDEX complaint_agencies_complaint ON complaint_agencies(complaint_id);

-- When the SLA scheduler next has something to do for a complaint whose clocks this node owns
-- (a warning or a breach), NULL when nothing. Derived from the fold and the calendar in force;
-- the scheduler reads only the rows due, by this index, however many complaints are stored.
ALTER TABLE complaints ADD COLUMN sla_next_at INTEGER;
CREATE INDEX complaints_sla_next ON complaints(sla_next_at) WHERE sla_next_at IS NOT NULL;

-- Full text over each complaint's title and body, for the list's `q`. Contentless (the index
-- only; the text is in the events) and without per-row sizes (no ranking is asked of it).
-- A complaint's text is indexed under `fts_rowid` (its row's rowid * 16 + a version); when an
-- amendment changes the text (`fts_hash` tells), the new text is indexed under the next version
-- and the complaint points there, so the old words no longer find it (a contentless index cannot
-- delete without the old text). Filled for stored complaints by the refold after this migration.
ALTER TABLE complaints ADD COLUMN fts_rowid INTEGER;
ALTER TABLE complaints ADD COLUMN fts_hash INTEGER;
CREATE VIRTUAL TABLE complaints_fts USING fts5(title, body, content = '', columnsize = 0,
  tokenize = 'unicode61 remove_diacritics 2');
