-- Who tells the customer about a pushed fulfillment: '' nobody, 'ghl'
-- (notifyCustomer), 'rankr' (Rankr's own mail, and GHL is told not to).
ALTER TABLE fulfillment_pushes ADD COLUMN notify_via TEXT NOT NULL DEFAULT '';

-- The outbox of the mails Rankr sends itself. One notice per kind and dedupe
-- key (for a fulfillment notice: GHL's fulfillment id), so a mail is queued
-- exactly once. A notice in state committing may have been accepted by the
-- SMTP server: it is never claimed again, and becomes unknown when its lease
-- runs out.
CREATE TABLE notices (
	id              TEXT PRIMARY KEY,
	location_id     TEXT NOT NULL,
	kind            TEXT NOT NULL, -- fulfillment, ...
	dedupe_key      TEXT NOT NULL,
	recipient       TEXT NOT NULL,
	payload         TEXT NOT NULL, -- JSON, by kind
	state           TEXT NOT NULL, -- pending, sending, committing, sent, failed, unknown
	attempts        BIGINT NOT NULL DEFAULT 0,
	last_error      TEXT NOT NULL DEFAULT '',
	next_attempt_at BIGINT NOT NULL,
	lease           TEXT NOT NULL DEFAULT '', -- the claim of the sender holding it
	leased_until    BIGINT,
	message_id      TEXT NOT NULL DEFAULT '',
	sent_at         BIGINT,
	created_at      BIGINT NOT NULL,
	updated_at      BIGINT NOT NULL,
	UNIQUE (kind, dedupe_key)
);
CREATE INDEX notices_due ON notices (next_attempt_at) WHERE state IN ('pending', 'sending', 'committing');
CREATE INDEX notices_by_location ON notices (location_id, created_at);
