-- Outbound webhooks: subscribers' endpoints and the deliveries of change-feed
-- events to them. The fan-out's cursor is the cursors row ('', 'webhooks.fanout').
CREATE TABLE webhook_endpoints (
	id          TEXT PRIMARY KEY,
	url         TEXT NOT NULL,
	secret      BYTEA NOT NULL, -- sealed by the vault, never clear text
	events      TEXT NOT NULL, -- JSON array of kind patterns
	location_id TEXT NOT NULL DEFAULT '', -- '' = every location
	description TEXT NOT NULL DEFAULT '',
	enabled     BOOLEAN NOT NULL,
	after_seq   BIGINT NOT NULL, -- the feed's last event when added
	created_at  BIGINT NOT NULL,
	updated_at  BIGINT NOT NULL,
	removed_at  BIGINT
);

CREATE TABLE webhook_deliveries (
	id              TEXT PRIMARY KEY, -- the message id (webhook-id)
	endpoint_id     TEXT NOT NULL REFERENCES webhook_endpoints (id),
	event_seq       BIGINT NOT NULL,
	location_id     TEXT NOT NULL,
	kind            TEXT NOT NULL,
	state           TEXT NOT NULL, -- pending, sending, delivered, dead
	attempts        BIGINT NOT NULL DEFAULT 0,
	replays         BIGINT NOT NULL DEFAULT 0,
	next_attempt_at BIGINT NOT NULL,
	claim           TEXT,
	claimed_until   BIGINT,
	last_attempt_at BIGINT,
	last_status     BIGINT NOT NULL DEFAULT 0,
	last_response   TEXT NOT NULL DEFAULT '',
	last_error      TEXT NOT NULL DEFAULT '',
	payload         TEXT, -- fixed at the first attempt
	delivered_at    BIGINT,
	created_at      BIGINT NOT NULL,
	updated_at      BIGINT NOT NULL,
	UNIQUE (endpoint_id, event_seq)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE state IN ('pending', 'sending');
CREATE INDEX webhook_deliveries_by_created ON webhook_deliveries (created_at DESC, event_seq DESC);
