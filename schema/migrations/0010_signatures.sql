-- Simpul store, schema version 10: signed events (core/provenance.hpp, docs/federation.md).

-- The manifests this node verified (or that came with events it keeps): who signed which
-- leaves with which key. Kept to forward with the events upward, and to show their origin.
CREATE TABLE signed_batches (
  id          TEXT PRIMARY KEY,
  origin      TEXT NOT NULL,
  key_id      TEXT NOT NULL,
  leaves      BLOB NOT NULL,   -- 32 bytes per event
  signature   BLOB NOT NULL,
  stored_at   INTEGER NOT NULL
) WITHOUT ROWID;

-- Each signed event's place in a manifest (events stay append-only and unchanged).
CREATE TABLE event_proofs (
  event_id TEXT PRIMARY KEY,
  batch_id TEXT NOT NULL,
  leaf     INTEGER NOT NULL
) WITHOUT ROWID;

-- The public keys of the nodes below this one: a child's own, and those it vouched for (its
-- subtree). `via` is the child they came through; `revoked_from` refuses what the key signed
-- from then on (a compromised key), and once set it only ever moves earlier.
CREATE TABLE node_keys (
  node_id       TEXT NOT NULL,
  key_id        TEXT NOT NULL,
  public_key    BLOB NOT NULL,
  via           TEXT NOT NULL,
  voucher       BLOB NOT NULL,
  registered_at INTEGER NOT NULL,
  revoked_from  INTEGER,
  PRIMARY KEY (node_id, key_id)
) WITHOUT ROWID;
