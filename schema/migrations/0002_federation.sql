-- Simpul store, schema version 2: federation feeds.

-- Which child nodes a complaint has been made visible to. The first time a complaint becomes
-- visible to a child (it came from that child's subtree, or is routed there), all its events
-- not already on the child's hop path are queued on the child's feed (outbox destination
-- 'child:<id>'); later events follow as they are stored.
CREATE TABLE complaint_children (
  complaint_id TEXT NOT NULL,
  child        TEXT NOT NULL,
  added_at     INTEGER NOT NULL,
  PRIMARY KEY (complaint_id, child)
);

-- The changes feed reads a destination in id order.
CREATE INDEX outbox_feed ON outbox(destination, id);
