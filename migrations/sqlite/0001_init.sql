-- Golden records: which version of each unified record is current. The record and its lineage
-- live in golden_version (written once per change, never copied); `redirect_to` is set when the
-- record was merged into another.
CREATE TABLE golden (
    id          TEXT PRIMARY KEY NOT NULL,
    entity      TEXT NOT NULL,
    version     INTEGER NOT NULL,
    deleted     INTEGER NOT NULL DEFAULT 0,
    redirect_to TEXT,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
) WITHOUT ROWID;

-- Every version of every golden record, the first included. `lineage` maps each field to the
-- source record that supplied it, stored compactly: the source records once, each field an index
-- into them.
CREATE TABLE golden_version (
    id         TEXT NOT NULL,
    version    INTEGER NOT NULL,
    record     TEXT NOT NULL,
    lineage    TEXT NOT NULL,
    changed    TEXT NOT NULL,
    deleted    INTEGER NOT NULL DEFAULT 0,
    run_id     INTEGER NOT NULL,
    at         TEXT NOT NULL
);
CREATE UNIQUE INDEX golden_version_key ON golden_version (id, version);

-- Cross-reference: each source record, the golden record it belongs to, its content hash (an
-- unchanged record is skipped) and its last mapped form (survivorship recomputes from these).
-- Rows hold JSON of several hundred bytes, so this and golden_version are rowid tables with a
-- unique index: SQLite's WITHOUT ROWID layout suits only small rows.
CREATE TABLE xref (
    source       TEXT NOT NULL,
    entity       TEXT NOT NULL,
    source_key   TEXT NOT NULL,
    golden_id    TEXT NOT NULL,
    content_hash BLOB NOT NULL,
    record       TEXT NOT NULL,
    changed_at   TEXT,
    deleted      INTEGER NOT NULL DEFAULT 0,
    origin       TEXT NOT NULL,
    run_id       INTEGER NOT NULL,
    updated_at   TEXT NOT NULL
);
CREATE UNIQUE INDEX xref_key ON xref (source, entity, source_key);
CREATE INDEX xref_by_golden ON xref (golden_id);

-- Normalized match-key values of golden records, for deterministic matching.
CREATE TABLE match_key (
    entity    TEXT NOT NULL,
    rule      TEXT NOT NULL,
    value     TEXT NOT NULL,
    golden_id TEXT NOT NULL,
    PRIMARY KEY (entity, rule, value)
) WITHOUT ROWID;

CREATE TABLE sync_run (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    source      TEXT NOT NULL,
    full_sync   INTEGER NOT NULL,
    started_at  TEXT NOT NULL,
    finished_at TEXT,
    status      TEXT NOT NULL,
    stats       TEXT,
    error       TEXT
);

-- The cursor of each source, advanced only in the transaction that stores the records before it.
CREATE TABLE checkpoint (
    source     TEXT PRIMARY KEY NOT NULL,
    cursor     TEXT NOT NULL,
    run_id     INTEGER NOT NULL,
    updated_at TEXT NOT NULL
) WITHOUT ROWID;

-- Records that could not be mapped, with everything needed to find and replay them. The same
-- failure seen again (a re-sync) updates its row instead of adding one.
CREATE TABLE quarantine (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    fingerprint BLOB NOT NULL UNIQUE,
    times_seen  INTEGER NOT NULL DEFAULT 1,
    run_id      INTEGER NOT NULL,
    source     TEXT NOT NULL,
    origin     TEXT NOT NULL,
    source_key TEXT,
    mapping    TEXT,
    reason     TEXT NOT NULL,
    payload    TEXT NOT NULL,
    at         TEXT NOT NULL
);

-- Change events, written in the same transaction as the change; relayed to the bus in `seq` order.
-- An event's payload (the record after the change, the changed fields and their sources) is the
-- version it announces, joined from golden_version, so every change is stored once.
CREATE TABLE outbox (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id     TEXT NOT NULL UNIQUE,
    entity       TEXT NOT NULL,
    operation    TEXT NOT NULL,
    golden_id    TEXT NOT NULL,
    version      INTEGER NOT NULL,
    at           TEXT NOT NULL,
    published_at TEXT
);
CREATE INDEX outbox_unpublished ON outbox (seq) WHERE published_at IS NULL;
