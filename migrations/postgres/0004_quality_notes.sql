-- Data-quality notes: a value a mapping could not read in an optional field (a bad date, a lookup
-- miss) left that field empty while the record itself was stored. One row per source record and
-- field; a later run meeting the same note again updates it.
CREATE TABLE quality_note (
    id         BIGSERIAL PRIMARY KEY,
    run_id     BIGINT NOT NULL,
    source     TEXT COLLATE "C" NOT NULL,
    source_key TEXT COLLATE "C" NOT NULL,
    field      TEXT NOT NULL,
    origin     TEXT NOT NULL,
    reason     TEXT NOT NULL,
    at         TIMESTAMPTZ NOT NULL,
    UNIQUE (source, source_key, field)
);
CREATE INDEX quality_note_at ON quality_note (at);
