-- Customer value and lifecycle (`concord value`, and after each sync): per live golden customer
-- its figures from the linked orders, its value tier and lifecycle stage. Kept beside the golden
-- record, not in it: a value changes with time and other records' orders, not with the
-- customer's sources. Revenue and average order value are JSON objects, currency → decimal text.
CREATE TABLE customer_value (
    golden_id           TEXT PRIMARY KEY NOT NULL,
    tier                TEXT NOT NULL,
    stage               TEXT NOT NULL,
    order_count         INTEGER NOT NULL,
    first_order         TEXT,
    last_order          TEXT,
    revenue             TEXT NOT NULL,
    average_order_value TEXT NOT NULL,
    updated_at          TEXT NOT NULL
) WITHOUT ROWID;

-- Further keys of an event's data, for events that report more than a new version: a value
-- event's change (`tier: {from, to}`) and the customer's figures (`value`), as JSON text.
ALTER TABLE outbox ADD COLUMN detail TEXT;
