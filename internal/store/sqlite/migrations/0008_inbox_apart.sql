-- The webhook inbox moved to a database file of its own (see sqlite.Open,
-- which copies any webhooks stored here across before this runs).
DROP TABLE IF EXISTS webhook_inbox;
