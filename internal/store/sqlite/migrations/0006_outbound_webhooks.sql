-- Outbound webhooks: subscribers' endpoints and the deliveries of change-feed
-- events to them. The fan-out's cursor is the cursors row ('', 'webhooks.fanout').
CREATE TABLE webhook_endpoints (
	id          TEXT PRIMARY KEY,
	url         TEXT NOT NULL,
	secret      BLOB NOT NULL, -- sealed by the vault, never clear text
	events      TEXT NOT NULL, -- JSON array of kind patterns
	location_id TEXT NOT NULL DEFAULT '', -- '' = every location
	description TEXT NOT NULL DEFAULT '',
	enabled     INTEGER NOT NULL,
	after_seq   INTEGER NOT NULL, -- the feed's last event when added
	created_at  INTEGER NOT NULL,
	updated_at  INTEGER NOT NULL,
	removed_at  INTEGER
);

CREATE TABLE webhook_deliveries (
	id              TEXT PRIMARY KEY, -- the message id (webhook-id)
	endpoint_id     TEXT NOT NULL REFERENCES webhook_endpoints (id),
	event_seq       INTEGER NOT NULL,
	location_id     TEXT NOT NULL,
	kind            TEXT NOT NULL,
	state           TEXT NOT NULL, -- pending, sending, delivered, dead
	attempts        INTEGER NOT NULL DEFAULT 0,
	replays         INTEGER NOT NULL DEFAULT 0,
	next_attempt_at INTEGER NOT NULL,
	claim           TEXT,
	claimed_until   INTEGER,
	last_attempt_at INTEGER,
	last_status     INTEGER NOT NULL DEFAULT 0,
	last_response   TEXT NOT NULL DEFAULT '',
	last_error      TEXT NOT NULL DEFAULT '',
	payload         TEXT, -- fixed at the first attempt
	delivered_at    INTEGER,
	created_at      INTEGER NOT NULL,
	updated_at      INTEGER NOT NULL,
	UNIQUE (endpoint_id, event_seq)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE state IN ('pending', 'sending');
CREATE INDEX webhook_deliveries_by_created ON webhook_deliveries (created_at DESC, event_seq DESC);
