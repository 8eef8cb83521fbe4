-- Simpul store, schema version 1.
-- Times are INTEGER milliseconds since the Unix epoch, UTC.

-- Current projection of every complaint: the fold of its events, kept in the same transaction
-- as the events. `seq` changes on every update and orders the list cursor.
CREATE TABLE complaints (
  id            TEXT PRIMARY KEY,
  seq           INTEGER NOT NULL UNIQUE,
  status        TEXT NOT NULL,
  type          TEXT NOT NULL,
  privacy       TEXT NOT NULL,
  channel       TEXT NOT NULL,
  region        TEXT,
  agency        TEXT,
  received_at   INTEGER NOT NULL,
  updated_at    INTEGER NOT NULL,
  verify_due    INTEGER,
  followup_due  INTEGER,
  autoclose_due INTEGER,
  event_count   INTEGER NOT NULL,
  conflict_count INTEGER NOT NULL DEFAULT 0,
  state_json    TEXT NOT NULL
);
CREATE INDEX complaints_status_seq ON complaints(status, seq);
CREATE INDEX complaints_updated ON complaints(updated_at);

-- Append-only event log. `seq` is this node's arrival order; `event_id` is global.
CREATE TABLE events (
  seq          INTEGER PRIMARY KEY AUTOINCREMENT,
  event_id     TEXT NOT NULL UNIQUE,
  complaint_id TEXT NOT NULL,
  origin       TEXT NOT NULL,
  at           INTEGER NOT NULL,
  kind         TEXT NOT NULL,
  actor_json   TEXT NOT NULL,
  payload_json TEXT NOT NULL,
  hops_json    TEXT NOT NULL,
  stored_at    INTEGER NOT NULL
);
CREATE INDEX events_complaint ON events(complaint_id, seq);
CREATE TRIGGER events_append_only_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
CREATE TRIGGER events_append_only_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;

-- Crosswalk: one complaint per (system, external id).
CREATE TABLE refs (
  system       TEXT NOT NULL,
  ext_id       TEXT NOT NULL,
  complaint_id TEXT NOT NULL REFERENCES complaints(id) DEFERRABLE INITIALLY DEFERRED,
  created_at   INTEGER NOT NULL,
  PRIMARY KEY (system, ext_id)
);
CREATE INDEX refs_complaint ON refs(complaint_id);

-- What the source actually sent, so records can be recomputed after a mapping fix.
CREATE TABLE raw_payloads (
  id           INTEGER PRIMARY KEY,
  source       TEXT NOT NULL,
  complaint_id TEXT REFERENCES complaints(id) DEFERRABLE INITIALLY DEFERRED,
  content_type TEXT NOT NULL,
  body         BLOB NOT NULL,
  sha256       TEXT NOT NULL,
  received_at  INTEGER NOT NULL
);
CREATE INDEX raw_payloads_complaint ON raw_payloads(complaint_id);

-- One row per (destination, event). Relays take rows in id order per complaint.
CREATE TABLE outbox (
  id              INTEGER PRIMARY KEY,
  destination     TEXT NOT NULL,
  complaint_id    TEXT NOT NULL,
  event_seq       INTEGER NOT NULL REFERENCES events(seq),
  state           TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'done', 'dead')),
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  last_error      TEXT,
  created_at      INTEGER NOT NULL,
  UNIQUE (destination, event_seq)
);
CREATE INDEX outbox_due ON outbox(destination, state, next_attempt_at);
CREATE INDEX outbox_complaint ON outbox(destination, complaint_id, id);

CREATE TABLE cursors (
  name       TEXT PRIMARY KEY,
  value      TEXT NOT NULL,
  updated_at INTEGER NOT NULL
);

CREATE TABLE dead_letters (
  id           INTEGER PRIMARY KEY,
  destination  TEXT NOT NULL,
  outbox_id    INTEGER,
  complaint_id TEXT,
  event_id     TEXT,
  error        TEXT NOT NULL,
  created_at   INTEGER NOT NULL
);

-- Events kept but not valid where they fall in the fold; for an admin to resolve.
CREATE TABLE conflicts (
  event_id     TEXT PRIMARY KEY,
  complaint_id TEXT NOT NULL,
  kind         TEXT NOT NULL,
  reason       TEXT NOT NULL,
  detected_at  INTEGER NOT NULL
);
CREATE INDEX conflicts_complaint ON conflicts(complaint_id);

-- API and node credentials: only the SHA-256 of the token is stored.
CREATE TABLE api_tokens (
  id         TEXT PRIMARY KEY,
  name       TEXT NOT NULL,
  sha256     TEXT NOT NULL UNIQUE,
  scopes     TEXT NOT NULL,
  node_id    TEXT,
  created_at INTEGER NOT NULL,
  revoked_at INTEGER
);

-- Idempotency-Key answers: a retry gets the original answer.
CREATE TABLE idempotency (
  scope          TEXT NOT NULL,
  key            TEXT NOT NULL,
  request_sha256 TEXT NOT NULL,
  status         INTEGER NOT NULL,
  complaint_id   TEXT,
  response_json  TEXT NOT NULL,
  created_at     INTEGER NOT NULL,
  PRIMARY KEY (scope, key)
);

CREATE TABLE audit_log (
  id          INTEGER PRIMARY KEY,
  at          INTEGER NOT NULL,
  actor       TEXT NOT NULL,
  action      TEXT NOT NULL,
  target      TEXT,
  detail_json TEXT
);
