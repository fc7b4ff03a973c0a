-- Rankr's schema on SQLite. Times are Unix milliseconds (GHL's precision);
-- money is integer minor units; raw GHL JSON is kept as text, byte for byte.

CREATE TABLE connections (
	location_id     TEXT PRIMARY KEY,
	name            TEXT NOT NULL DEFAULT '',
	base_url        TEXT NOT NULL,
	credential      BLOB NOT NULL, -- sealed by the vault, never clear text
	credential_kind TEXT NOT NULL,
	state           TEXT NOT NULL,
	state_message   TEXT NOT NULL DEFAULT '',
	last_sync_at    INTEGER,
	last_error      TEXT NOT NULL DEFAULT '',
	created_at      INTEGER NOT NULL,
	updated_at      INTEGER NOT NULL
);

CREATE TABLE orders (
	location_id          TEXT NOT NULL,
	id                   TEXT NOT NULL,
	contact_id           TEXT NOT NULL DEFAULT '',
	contact_name         TEXT NOT NULL DEFAULT '',
	contact_email        TEXT NOT NULL DEFAULT '',
	amount               INTEGER NOT NULL,
	currency             TEXT NOT NULL,
	status               TEXT NOT NULL,
	fulfillment_status   TEXT NOT NULL,
	payment_status       TEXT NOT NULL,
	live_mode            INTEGER NOT NULL,
	source_type          TEXT NOT NULL DEFAULT '',
	source_sub_type      TEXT NOT NULL DEFAULT '',
	source_id            TEXT NOT NULL DEFAULT '',
	source_name          TEXT NOT NULL DEFAULT '',
	created_at           INTEGER NOT NULL,
	updated_at           INTEGER NOT NULL,
	content_hash         TEXT NOT NULL,
	raw_summary          TEXT,
	summary_updated_at   INTEGER,
	raw_detail           TEXT,
	detail_updated_at    INTEGER,
	fulfillments_version INTEGER, -- the updated_at whose fulfillments were fetched
	fulfillments_status  TEXT,    -- and the fulfillment status then
	seen_at              INTEGER,
	deleted_at           INTEGER,
	inserted_at          INTEGER NOT NULL,
	PRIMARY KEY (location_id, id)
);
CREATE INDEX orders_by_created ON orders (location_id, created_at DESC, id DESC);

CREATE TABLE order_items (
	location_id  TEXT NOT NULL,
	order_id     TEXT NOT NULL,
	position     INTEGER NOT NULL,
	id           TEXT NOT NULL,
	name         TEXT NOT NULL,
	qty          INTEGER NOT NULL,
	price_id     TEXT NOT NULL,
	product_id   TEXT NOT NULL,
	product_type TEXT NOT NULL,
	unit_amount  INTEGER NOT NULL,
	currency     TEXT NOT NULL,
	recurring    INTEGER NOT NULL,
	PRIMARY KEY (location_id, order_id, position)
);

CREATE TABLE fulfillments (
	location_id TEXT NOT NULL,
	id          TEXT NOT NULL,
	order_id    TEXT NOT NULL,
	created_at  INTEGER NOT NULL,
	updated_at  INTEGER NOT NULL,
	raw         TEXT NOT NULL,
	inserted_at INTEGER NOT NULL,
	PRIMARY KEY (location_id, id)
);
CREATE INDEX fulfillments_by_order ON fulfillments (location_id, order_id);
CREATE INDEX fulfillments_by_created ON fulfillments (location_id, created_at DESC, id DESC);

CREATE TABLE fulfillment_trackings (
	location_id    TEXT NOT NULL,
	fulfillment_id TEXT NOT NULL,
	position       INTEGER NOT NULL,
	number         TEXT NOT NULL,
	carrier        TEXT NOT NULL,
	url            TEXT NOT NULL,
	PRIMARY KEY (location_id, fulfillment_id, position)
);

CREATE TABLE fulfillment_items (
	location_id    TEXT NOT NULL,
	fulfillment_id TEXT NOT NULL,
	position       INTEGER NOT NULL,
	item_id        TEXT NOT NULL,
	price_id       TEXT NOT NULL,
	name           TEXT NOT NULL,
	qty            INTEGER NOT NULL,
	PRIMARY KEY (location_id, fulfillment_id, position)
);

CREATE TABLE transactions (
	location_id     TEXT NOT NULL,
	id              TEXT NOT NULL,
	entity_type     TEXT NOT NULL DEFAULT '',
	entity_id       TEXT NOT NULL DEFAULT '',
	order_id        TEXT NOT NULL DEFAULT '',
	invoice_id      TEXT NOT NULL DEFAULT '',
	subscription_id TEXT NOT NULL DEFAULT '',
	contact_id      TEXT NOT NULL DEFAULT '',
	amount          INTEGER NOT NULL,
	amount_refunded INTEGER NOT NULL,
	currency        TEXT NOT NULL,
	status          TEXT NOT NULL,
	live_mode       INTEGER NOT NULL,
	provider        TEXT NOT NULL DEFAULT '',
	charge_id       TEXT NOT NULL DEFAULT '',
	created_at      INTEGER NOT NULL,
	updated_at      INTEGER NOT NULL,
	content_hash    TEXT NOT NULL,
	raw             TEXT NOT NULL,
	seen_at         INTEGER,
	deleted_at      INTEGER,
	inserted_at     INTEGER NOT NULL,
	PRIMARY KEY (location_id, id)
);
CREATE INDEX transactions_by_order ON transactions (location_id, order_id);
CREATE INDEX transactions_by_created ON transactions (location_id, created_at DESC, id DESC);

CREATE TABLE subscriptions (
	location_id              TEXT NOT NULL,
	id                       TEXT NOT NULL,
	contact_id               TEXT NOT NULL DEFAULT '',
	contact_name             TEXT NOT NULL DEFAULT '',
	contact_email            TEXT NOT NULL DEFAULT '',
	amount                   INTEGER NOT NULL,
	currency                 TEXT NOT NULL,
	status                   TEXT NOT NULL,
	live_mode                INTEGER NOT NULL,
	order_id                 TEXT NOT NULL DEFAULT '',
	provider_subscription_id TEXT NOT NULL DEFAULT '',
	billing_interval         TEXT NOT NULL DEFAULT '',
	interval_count           INTEGER NOT NULL DEFAULT 0,
	next_run_at              INTEGER,
	canceled_at              INTEGER,
	created_at               INTEGER NOT NULL,
	updated_at               INTEGER NOT NULL,
	content_hash             TEXT NOT NULL,
	raw_summary              TEXT,
	summary_updated_at       INTEGER,
	raw_detail               TEXT,
	detail_updated_at        INTEGER,
	needs_detail             INTEGER NOT NULL,
	seen_at                  INTEGER,
	deleted_at               INTEGER,
	inserted_at              INTEGER NOT NULL,
	PRIMARY KEY (location_id, id)
);
CREATE INDEX subscriptions_by_created ON subscriptions (location_id, created_at DESC, id DESC);

CREATE TABLE invoices (
	location_id   TEXT NOT NULL,
	id            TEXT NOT NULL,
	number        TEXT NOT NULL DEFAULT '',
	name          TEXT NOT NULL DEFAULT '',
	status        TEXT NOT NULL,
	contact_id    TEXT NOT NULL DEFAULT '',
	contact_name  TEXT NOT NULL DEFAULT '',
	contact_email TEXT NOT NULL DEFAULT '',
	currency      TEXT NOT NULL,
	total         INTEGER NOT NULL,
	amount_paid   INTEGER NOT NULL,
	amount_due    INTEGER NOT NULL,
	live_mode     INTEGER NOT NULL,
	issue_date    TEXT NOT NULL DEFAULT '',
	due_date      TEXT NOT NULL DEFAULT '',
	created_at    INTEGER NOT NULL,
	updated_at    INTEGER NOT NULL,
	content_hash  TEXT NOT NULL,
	raw           TEXT NOT NULL,
	seen_at       INTEGER,
	deleted_at    INTEGER,
	inserted_at   INTEGER NOT NULL,
	PRIMARY KEY (location_id, id)
);
CREATE INDEX invoices_by_created ON invoices (location_id, created_at DESC, id DESC);

CREATE TABLE cursors (
	location_id TEXT NOT NULL,
	name        TEXT NOT NULL,
	value       TEXT NOT NULL,
	updated_at  INTEGER NOT NULL,
	PRIMARY KEY (location_id, name)
);

-- The change feed. seq orders events by commit: SQLite has one writer.
CREATE TABLE events (
	seq         INTEGER PRIMARY KEY AUTOINCREMENT,
	location_id TEXT NOT NULL,
	kind        TEXT NOT NULL,
	record_type TEXT NOT NULL,
	record_id   TEXT NOT NULL,
	at          INTEGER NOT NULL,
	data        TEXT NOT NULL
);
CREATE INDEX events_by_location ON events (location_id, seq);
