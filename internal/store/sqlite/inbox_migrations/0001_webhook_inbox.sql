-- The webhook inbox, in a database file of its own (see sqlite.Open):
-- webhooks as received, stored durably before GHL gets its 200, then
-- processed once. webhook_id dedupes redeliveries.
CREATE TABLE webhook_inbox (
	seq           INTEGER PRIMARY KEY AUTOINCREMENT,
	webhook_id    TEXT NOT NULL UNIQUE,
	type          TEXT NOT NULL,
	location_id   TEXT NOT NULL DEFAULT '',
	received_at   INTEGER NOT NULL,
	event_at      INTEGER,
	body          TEXT NOT NULL,
	claimed_until INTEGER,
	processed_at  INTEGER,
	attempts      INTEGER NOT NULL DEFAULT 0,
	outcome       TEXT NOT NULL DEFAULT ''
);
CREATE INDEX webhook_inbox_pending ON webhook_inbox (seq) WHERE processed_at IS NULL;
