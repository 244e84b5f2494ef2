-- Customer value and lifecycle (`concord value`, and after each sync): per live golden customer
-- its figures from the linked orders, its value tier and lifecycle stage. Kept beside the golden
-- record, not in it: a value changes with time and other records' orders, not with the
-- customer's sources. Revenue and average order value are JSON objects, currency → decimal text.
CREATE TABLE customer_value (
    golden_id           TEXT COLLATE "C" PRIMARY KEY,
    tier                TEXT NOT NULL,
    stage               TEXT NOT NULL,
    order_count         BIGINT NOT NULL,
    first_order         DATE,
    last_order          DATE,
    revenue             TEXT NOT NULL,
    average_order_value TEXT NOT NULL,
    updated_at          TIMESTAMPTZ NOT NULL
);

-- Further keys of an event's data, for events that report more than a new version: a value
-- event's change (`tier: {from, to}`) and the customer's figures (`value`), as JSON text.
ALTER TABLE outbox ADD COLUMN detail TEXT;
