-- Simpul store, schema version 8: the rows a database connector (sql_poll) has read.

-- One row per (connector, the row's key at the source): the complaint it became and a hash of
-- the record as last read. A reconciliation pass walks these by key, asks the source for the
-- same rows again, takes in those whose hash changed (an edit that left the change time alone)
-- and marks `gone_at` for those the source no longer has (deleted there).
CREATE TABLE source_rows (
  source       TEXT NOT NULL,
  key          TEXT NOT NULL,
  complaint_id TEXT NOT NULL,
  hash         INTEGER NOT NULL,
  seen_at      INTEGER NOT NULL,
  gone_at      INTEGER,
  PRIMARY KEY (source, key)
) WITHOUT ROWID;
