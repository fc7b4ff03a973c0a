-- GHL's marketplace workflow contract. A workflow that adds one of rankr's
-- triggers subscribes to it (one row per GHL trigger id; DELETED only
-- deactivates it, so its deliveries keep their subscription); rankr fires
-- it by POSTing each matching change-feed event to its target URL.
CREATE TABLE marketplace_triggers (
	trigger_id  TEXT PRIMARY KEY, -- GHL's triggerData.id
	location_id TEXT NOT NULL,
	workflow_id TEXT NOT NULL,
	company_id  TEXT NOT NULL DEFAULT '',
	mp_key      TEXT NOT NULL, -- the marketplace key (derived_order_paid)
	catalog_key TEXT NOT NULL, -- the catalog's (derived.order.paid)
	version     TEXT NOT NULL DEFAULT '',
	filters     TEXT NOT NULL DEFAULT '[]', -- JSON, as GHL sent them
	target_url  TEXT NOT NULL,
	active      INTEGER NOT NULL,
	reason      TEXT NOT NULL DEFAULT '', -- why it is inactive
	-- Events up to this sequence number predate the subscription (or its
	-- reactivation): they never fire it.
	from_seq    INTEGER NOT NULL DEFAULT 0,
	created_at  INTEGER NOT NULL,
	updated_at  INTEGER NOT NULL
);
-- What the firing loop reads at every pass: only the live subscriptions.
CREATE INDEX marketplace_triggers_active ON marketplace_triggers (location_id) WHERE active = 1;

-- One delivery per subscription and event: recording it again (a pass
-- repeated after a crash, two processes on the same feed) is a no-op.
CREATE TABLE marketplace_deliveries (
	id              INTEGER PRIMARY KEY AUTOINCREMENT,
	trigger_id      TEXT NOT NULL REFERENCES marketplace_triggers (trigger_id),
	event_seq       INTEGER NOT NULL,
	location_id     TEXT NOT NULL,
	trigger_key     TEXT NOT NULL, -- the catalog's
	payload         TEXT NOT NULL, -- JSON, as it is sent
	state           TEXT NOT NULL, -- pending, delivered, failed, deactivated
	attempts        INTEGER NOT NULL DEFAULT 0,
	last_error      TEXT NOT NULL DEFAULT '',
	status          INTEGER NOT NULL DEFAULT 0, -- GHL's last HTTP status
	next_attempt_at INTEGER NOT NULL, -- by the database's clock
	lease           TEXT NOT NULL DEFAULT '',
	lease_until     INTEGER,
	created_at      INTEGER NOT NULL,
	updated_at      INTEGER NOT NULL,
	UNIQUE (trigger_id, event_seq)
);
CREATE INDEX marketplace_deliveries_due ON marketplace_deliveries (next_attempt_at, id) WHERE state = 'pending';

-- The answers to GHL's custom action calls, by a hash of what identifies a
-- repeat (location, workflow, contact, action and data), for 24 hours: GHL
-- does not document when it calls again, so a repeat answers the first
-- answer instead of running the action twice.
CREATE TABLE marketplace_action_calls (
	hash        TEXT PRIMARY KEY,
	location_id TEXT NOT NULL,
	workflow_id TEXT NOT NULL,
	action_key  TEXT NOT NULL,
	state       TEXT NOT NULL, -- running, done
	status      INTEGER NOT NULL DEFAULT 0,
	body        TEXT NOT NULL DEFAULT '',
	lease_until INTEGER NOT NULL, -- a running call's claim, by the database's clock
	created_at  INTEGER NOT NULL
);
CREATE INDEX marketplace_action_calls_age ON marketplace_action_calls (created_at);
