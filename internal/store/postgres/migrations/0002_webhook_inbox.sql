-- Webhooks as received: stored (durably) before GHL gets its 200, then
-- processed once. webhook_id dedupes redeliveries.
CREATE TABLE webhook_inbox (
	seq           BIGSERIAL PRIMARY KEY,
	webhook_id    TEXT NOT NULL UNIQUE,
	type          TEXT NOT NULL,
	location_id   TEXT NOT NULL DEFAULT '',
	received_at   BIGINT NOT NULL,
	event_at      BIGINT,
	body          TEXT NOT NULL,
	claimed_until BIGINT,
	processed_at  BIGINT,
	attempts      BIGINT NOT NULL DEFAULT 0,
	outcome       TEXT NOT NULL DEFAULT ''
);
CREATE INDEX webhook_inbox_pending ON webhook_inbox (seq) WHERE processed_at IS NULL;
