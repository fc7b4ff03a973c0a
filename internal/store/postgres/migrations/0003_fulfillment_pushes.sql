-- Fulfillments Rankr pushes to GHL, as a durable outbox. GHL has no
-- idempotency key for fulfillments, so a push whose outcome is unknown is
-- looked for in GHL before it is ever sent again.
CREATE TABLE fulfillment_pushes (
	id              TEXT PRIMARY KEY,
	location_id     TEXT NOT NULL,
	order_id        TEXT NOT NULL,
	trackings       TEXT NOT NULL, -- JSON [{trackingNumber, carrier, url}]
	items           TEXT NOT NULL, -- JSON [{priceId, qty}]
	notify_customer BOOLEAN NOT NULL,
	state           TEXT NOT NULL, -- pending, pushing, unknown, done, failed
	fulfillment_id  TEXT NOT NULL DEFAULT '', -- GHL's id, once done
	attempts        BIGINT NOT NULL DEFAULT 0,
	last_error      TEXT NOT NULL DEFAULT '',
	next_attempt_at BIGINT NOT NULL,
	claimed_until   BIGINT,
	created_at      BIGINT NOT NULL,
	updated_at      BIGINT NOT NULL
);
CREATE INDEX fulfillment_pushes_due ON fulfillment_pushes (next_attempt_at) WHERE state IN ('pending', 'pushing', 'unknown');
CREATE INDEX fulfillment_pushes_by_order ON fulfillment_pushes (location_id, order_id);
