-- Simpul store, schema version 7: what the dashboard counts, read by index.

-- Only running clocks have a due date, so these indexes hold the open work, not the archive:
-- the overdue counts and the per-agency queue read what is due, however many complaints are
-- stored.
CREATE INDEX complaints_verify_due ON complaints(verify_due) WHERE verify_due IS NOT NULL;
CREATE INDEX complaints_followup_due ON complaints(followup_due) WHERE followup_due IS NOT NULL;
CREATE INDEX complaints_autoclose_due ON complaints(autoclose_due) WHERE autoclose_due IS NOT NULL;
