-- Per source record, the time each field's value last changed at that source (JSON object:
-- field → RFC 3339 time), so survivorship compares fields, not records. NULL for rows written
-- before: their `changed_at` counts for every field until the record changes again.
ALTER TABLE xref ADD COLUMN field_times TEXT;

-- When each reference was first stored, so a reference still pending shows its age
-- (`concord refs --pending`). NULL for references stored before.
ALTER TABLE reference ADD COLUMN since TIMESTAMPTZ;
