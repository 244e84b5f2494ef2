-- Events the broker refuses for good (larger than its message size limit, unroutable with
-- `mandatory`): set aside with the reason so the relay goes on with the next ones.
-- `concord events retry ID` clears both columns and the event is published again.
ALTER TABLE outbox ADD COLUMN parked_at TIMESTAMPTZ;
ALTER TABLE outbox ADD COLUMN parked_reason TEXT;
