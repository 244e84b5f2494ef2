-- The block index as a log: rows are appended in rowid order and never updated in place. The
-- `block_key` table kept them sorted by value, with a second index by golden ID, so each row a
-- batch added went to a random page of two B-trees larger than the page cache: on the store of a
-- million records, 40,000 rows (one batch's) dirtied 115-125 MB of pages and took 1.7-2.6 s;
-- appended, they take 2 MB and 0.1 s. A sync run reads the whole index once anyway
-- (`block_index`), and a lookup by value outside a run (a dry run) reads it whole too. Merges no
-- longer rewrite the loser's rows: readers follow `golden.redirect_to` (indexed below for them).
-- A row may be written twice; readers drop the copy.
CREATE TABLE block_log (
    entity    TEXT NOT NULL,
    value     TEXT NOT NULL,
    golden_id TEXT NOT NULL
);
INSERT INTO block_log (entity, value, golden_id)
    SELECT entity, value, golden_id FROM block_key ORDER BY golden_id;
DROP TABLE block_key;
CREATE INDEX golden_redirected ON golden (entity) WHERE redirect_to IS NOT NULL;
