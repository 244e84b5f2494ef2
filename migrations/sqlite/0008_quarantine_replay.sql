-- `concord quarantine replay` runs quarantined records through the current mappings again.
-- `stream` hands a record to the mappings of the stream it came from; a replayed record that is
-- stored is kept for audit with `resolved_at` set, and hidden from `concord quarantine` by default.
ALTER TABLE quarantine ADD COLUMN stream TEXT;
ALTER TABLE quarantine ADD COLUMN resolved_at TEXT;
