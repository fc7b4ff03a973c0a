-- Reconciliation: where each order's and invoice's money stands, the
-- exceptions a finance user must look at, when a record must be looked at
-- again (a grace period ends), subscription renewals and Rankr's invoicing
-- record for each, and how far reconciliation has read the change feed.

CREATE TABLE reconcile_balances (
	location_id       TEXT NOT NULL,
	record_type       TEXT NOT NULL, -- order or invoice
	record_id         TEXT NOT NULL,
	currency          TEXT NOT NULL,
	live_mode         INTEGER NOT NULL,
	expected          INTEGER NOT NULL,
	collected         INTEGER NOT NULL,
	refunded          INTEGER NOT NULL,
	balance           INTEGER NOT NULL, -- expected - (collected - refunded)
	outcome           TEXT NOT NULL,
	payment_status    TEXT NOT NULL,
	record_created_at INTEGER NOT NULL,
	updated_at        INTEGER NOT NULL,
	PRIMARY KEY (location_id, record_type, record_id)
);
CREATE INDEX reconcile_balances_by_created ON reconcile_balances (location_id, record_created_at DESC, record_id DESC);

-- One open exception per location, kind and record; a resolved one stays
-- as history, and the same finding later opens a new exception.
CREATE TABLE reconcile_exceptions (
	id                INTEGER PRIMARY KEY AUTOINCREMENT,
	location_id       TEXT NOT NULL,
	kind              TEXT NOT NULL,
	record_type       TEXT NOT NULL, -- order, invoice or transaction
	record_id         TEXT NOT NULL,
	entity_type       TEXT NOT NULL DEFAULT '',
	entity_id         TEXT NOT NULL DEFAULT '',
	amount            INTEGER NOT NULL,
	currency          TEXT NOT NULL,
	message           TEXT NOT NULL,
	detail            TEXT NOT NULL, -- JSON
	record_created_at INTEGER NOT NULL,
	opened_at         INTEGER NOT NULL,
	resolved_at       INTEGER
);
CREATE UNIQUE INDEX reconcile_exceptions_open ON reconcile_exceptions (location_id, record_type, record_id, kind) WHERE resolved_at IS NULL;
CREATE INDEX reconcile_exceptions_by_location ON reconcile_exceptions (location_id, opened_at DESC);

CREATE TABLE reconcile_rechecks (
	location_id TEXT NOT NULL,
	record_type TEXT NOT NULL,
	record_id   TEXT NOT NULL,
	due_at      INTEGER NOT NULL,
	PRIMARY KEY (location_id, record_type, record_id)
);
CREATE INDEX reconcile_rechecks_due ON reconcile_rechecks (due_at);

-- seq: the last change-feed event consumed; version: bumped by every
-- apply, so that results computed from older data are refused.
CREATE TABLE reconcile_position (
	name    TEXT PRIMARY KEY,
	seq     INTEGER NOT NULL,
	version INTEGER NOT NULL
);
INSERT INTO reconcile_position (name, seq, version) VALUES ('reconcile', 0, 0);

-- One renewal per collected subscription charge, and one invoicing record
-- (Rankr's bill for the period) per renewal.
CREATE TABLE renewals (
	location_id     TEXT NOT NULL,
	transaction_id  TEXT NOT NULL,
	subscription_id TEXT NOT NULL,
	contact_id      TEXT NOT NULL DEFAULT '',
	amount          INTEGER NOT NULL,
	currency        TEXT NOT NULL,
	live_mode       INTEGER NOT NULL,
	period_start    INTEGER NOT NULL,
	period_end      INTEGER,
	paid_at         INTEGER NOT NULL,
	invoicing_id    TEXT NOT NULL,
	created_at      INTEGER NOT NULL,
	PRIMARY KEY (location_id, transaction_id)
);
CREATE INDEX renewals_by_subscription ON renewals (location_id, subscription_id, period_start);

CREATE TABLE invoicing_records (
	location_id            TEXT NOT NULL,
	id                     TEXT NOT NULL,
	renewal_transaction_id TEXT NOT NULL,
	subscription_id        TEXT NOT NULL,
	contact_id             TEXT NOT NULL DEFAULT '',
	amount                 INTEGER NOT NULL,
	currency               TEXT NOT NULL,
	period_start           INTEGER NOT NULL,
	period_end             INTEGER,
	status                 TEXT NOT NULL, -- paid: a renewal is billed once its money arrived
	created_at             INTEGER NOT NULL,
	PRIMARY KEY (location_id, id),
	UNIQUE (location_id, renewal_transaction_id)
);

-- What reconciliation looks records up by.
CREATE INDEX transactions_by_invoice ON transactions (location_id, invoice_id);
CREATE INDEX transactions_by_entity ON transactions (location_id, entity_id);
CREATE INDEX subscriptions_by_next_run ON subscriptions (location_id, next_run_at) WHERE deleted_at IS NULL;
