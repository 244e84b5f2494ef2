-- Mirrors migrations/sqlite/0002_matching.sql (types and collations as in 0001_init.sql here).

-- Block values for scored matching: a new record is compared only with the golden records that
-- share one of its block values. Rewritten to the survivor when golden records merge.
CREATE TABLE block_key (
    entity    TEXT COLLATE "C" NOT NULL,
    value     TEXT COLLATE "C" NOT NULL,
    golden_id TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (entity, value, golden_id)
);
CREATE INDEX block_key_by_golden ON block_key (golden_id);

-- Every match decision that had a candidate, with its evidence (the rule, each comparison's
-- values, level and weight, the total against the thresholds), for `concord explain`.
CREATE TABLE match_decision (
    id           BIGSERIAL PRIMARY KEY,
    entity       TEXT COLLATE "C" NOT NULL,
    source       TEXT COLLATE "C" NOT NULL,
    source_key   TEXT COLLATE "C" NOT NULL,
    golden_id    TEXT COLLATE "C" NOT NULL,
    candidate_id TEXT COLLATE "C",
    rule         TEXT NOT NULL,
    decision     TEXT NOT NULL,
    score        DOUBLE PRECISION,
    evidence     TEXT NOT NULL,
    run_id       BIGINT,
    at           TIMESTAMPTZ NOT NULL
);
CREATE INDEX match_decision_by_golden ON match_decision (golden_id);
CREATE INDEX match_decision_by_candidate ON match_decision (candidate_id);

-- Pairs whose score fell between the review and the match threshold: kept apart until a steward
-- accepts (they merge) or rejects (they are never merged automatically).
CREATE TABLE review (
    id          BIGSERIAL PRIMARY KEY,
    entity      TEXT COLLATE "C" NOT NULL,
    left_id     TEXT COLLATE "C" NOT NULL,
    right_id    TEXT COLLATE "C" NOT NULL,
    source      TEXT COLLATE "C" NOT NULL,
    source_key  TEXT COLLATE "C" NOT NULL,
    rule        TEXT NOT NULL,
    score       DOUBLE PRECISION NOT NULL,
    evidence    TEXT NOT NULL,
    status      TEXT NOT NULL DEFAULT 'open',
    created_at  TIMESTAMPTZ NOT NULL,
    decided_at  TIMESTAMPTZ,
    UNIQUE (left_id, right_id)
);
CREATE INDEX review_open ON review (id) WHERE status = 'open';

-- Golden records that must never be merged automatically: a rejected review pair, or a record
-- split out by `concord unmerge`. Stored with left_id < right_id (byte order).
CREATE TABLE distinct_pair (
    left_id  TEXT COLLATE "C" NOT NULL,
    right_id TEXT COLLATE "C" NOT NULL,
    reason   TEXT NOT NULL,
    at       TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (left_id, right_id)
);

-- References of orders and BOMs to customers and products, by the target's source key:
-- `target_id` is the golden record it resolved to, or NULL while the target has not arrived.
CREATE TABLE reference (
    referrer_id TEXT COLLATE "C" NOT NULL,
    source      TEXT COLLATE "C" NOT NULL,
    entity      TEXT COLLATE "C" NOT NULL,
    target_key  TEXT COLLATE "C" NOT NULL,
    target_id   TEXT COLLATE "C",
    PRIMARY KEY (referrer_id, source, entity, target_key)
);
CREATE INDEX reference_pending ON reference (entity, target_key) WHERE target_id IS NULL;
CREATE INDEX reference_by_target ON reference (target_id) WHERE target_id IS NOT NULL;

-- The golden IDs a `merged` event folded into its golden record (a JSON array).
ALTER TABLE outbox ADD COLUMN merged TEXT;
