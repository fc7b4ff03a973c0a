-- Rankr's schema on PostgreSQL. Times are Unix milliseconds (GHL's precision);
-- money is integer minor units; raw GHL JSON is kept as text, byte for byte.

CREATE TABLE connections (
	location_id     TEXT PRIMARY KEY,
	name            TEXT NOT NULL DEFAULT '',
	base_url        TEXT NOT NULL,
	credential      BYTEA NOT NULL, -- sealed by the vault, never clear text
	credential_kind TEXT NOT NULL,
	state           TEXT NOT NULL,
	state_message   TEXT NOT NULL DEFAULT '',
	last_sync_at    BIGINT,
	last_error      TEXT NOT NULL DEFAULT '',
	created_at      BIGINT NOT NULL,
	updated_at      BIGINT NOT NULL
);

CREATE TABLE orders (
	location_id          TEXT NOT NULL,
	id                   TEXT NOT NULL,
	contact_id           TEXT NOT NULL DEFAULT '',
	contact_name         TEXT NOT NULL DEFAULT '',
	contact_email        TEXT NOT NULL DEFAULT '',
	amount               BIGINT NOT NULL,
	currency             TEXT NOT NULL,
	status               TEXT NOT NULL,
	fulfillment_status   TEXT NOT NULL,
	payment_status       TEXT NOT NULL,
	live_mode            BOOLEAN NOT NULL,
	source_type          TEXT NOT NULL DEFAULT '',
	source_sub_type      TEXT NOT NULL DEFAULT '',
	source_id            TEXT NOT NULL DEFAULT '',
	source_name          TEXT NOT NULL DEFAULT '',
	created_at           BIGINT NOT NULL,
	updated_at           BIGINT NOT NULL,
	content_hash         TEXT NOT NULL,
	raw_summary          TEXT,
	summary_updated_at   BIGINT,
	raw_detail           TEXT,
	detail_updated_at    BIGINT,
	fulfillments_version BIGINT, -- the updated_at whose fulfillments were fetched
	fulfillments_status  TEXT,    -- and the fulfillment status then
	seen_at              BIGINT,
	deleted_at           BIGINT,
	inserted_at          BIGINT NOT NULL,
	PRIMARY KEY (location_id, id)
);
CREATE INDEX orders_by_created ON orders (location_id, created_at DESC, id DESC);

CREATE TABLE order_items (
	location_id  TEXT NOT NULL,
	order_id     TEXT NOT NULL,
	position     BIGINT NOT NULL,
	id           TEXT NOT NULL,
	name         TEXT NOT NULL,
	qty          BIGINT NOT NULL,
	price_id     TEXT NOT NULL,
	product_id   TEXT NOT NULL,
	product_type TEXT NOT NULL,
	unit_amount  BIGINT NOT NULL,
	currency     TEXT NOT NULL,
	recurring    BOOLEAN NOT NULL,
	PRIMARY KEY (location_id, order_id, position)
);

CREATE TABLE fulfillments (
	location_id TEXT NOT NULL,
	id          TEXT NOT NULL,
	order_id    TEXT NOT NULL,
	created_at  BIGINT NOT NULL,
	updated_at  BIGINT NOT NULL,
	raw         TEXT NOT NULL,
	inserted_at BIGINT NOT NULL,
	PRIMARY KEY (location_id, id)
);
CREATE INDEX fulfillments_by_order ON fulfillments (location_id, order_id);
CREATE INDEX fulfillments_by_created ON fulfillments (location_id, created_at DESC, id DESC);

CREATE TABLE fulfillment_trackings (
	location_id    TEXT NOT NULL,
	fulfillment_id TEXT NOT NULL,
	position       BIGINT NOT NULL,
	number         TEXT NOT NULL,
	carrier        TEXT NOT NULL,
	url            TEXT NOT NULL,
	PRIMARY KEY (location_id, fulfillment_id, position)
);

CREATE TABLE fulfillment_items (
	location_id    TEXT NOT NULL,
	fulfillment_id TEXT NOT NULL,
	position       BIGINT NOT NULL,
	item_id        TEXT NOT NULL,
	price_id       TEXT NOT NULL,
	name           TEXT NOT NULL,
	qty            BIGINT NOT NULL,
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
	amount          BIGINT NOT NULL,
	amount_refunded BIGINT NOT NULL,
	currency        TEXT NOT NULL,
	status          TEXT NOT NULL,
	live_mode       BOOLEAN NOT NULL,
	provider        TEXT NOT NULL DEFAULT '',
	charge_id       TEXT NOT NULL DEFAULT '',
	created_at      BIGINT NOT NULL,
	updated_at      BIGINT NOT NULL,
	content_hash    TEXT NOT NULL,
	raw             TEXT NOT NULL,
	seen_at         BIGINT,
	deleted_at      BIGINT,
	inserted_at     BIGINT NOT NULL,
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
	amount                   BIGINT NOT NULL,
	currency                 TEXT NOT NULL,
	status                   TEXT NOT NULL,
	live_mode                BOOLEAN NOT NULL,
	order_id                 TEXT NOT NULL DEFAULT '',
	provider_subscription_id TEXT NOT NULL DEFAULT '',
	billing_interval         TEXT NOT NULL DEFAULT '',
	interval_count           BIGINT NOT NULL DEFAULT 0,
	next_run_at              BIGINT,
	canceled_at              BIGINT,
	created_at               BIGINT NOT NULL,
	updated_at               BIGINT NOT NULL,
	content_hash             TEXT NOT NULL,
	raw_summary              TEXT,
	summary_updated_at       BIGINT,
	raw_detail               TEXT,
	detail_updated_at        BIGINT,
	needs_detail             BOOLEAN NOT NULL,
	seen_at                  BIGINT,
	deleted_at               BIGINT,
	inserted_at              BIGINT NOT NULL,
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
	total         BIGINT NOT NULL,
	amount_paid   BIGINT NOT NULL,
	amount_due    BIGINT NOT NULL,
	live_mode     BOOLEAN NOT NULL,
	issue_date    TEXT NOT NULL DEFAULT '',
	due_date      TEXT NOT NULL DEFAULT '',
	created_at    BIGINT NOT NULL,
	updated_at    BIGINT NOT NULL,
	content_hash  TEXT NOT NULL,
	raw           TEXT NOT NULL,
	seen_at       BIGINT,
	deleted_at    BIGINT,
	inserted_at   BIGINT NOT NULL,
	PRIMARY KEY (location_id, id)
);
CREATE INDEX invoices_by_created ON invoices (location_id, created_at DESC, id DESC);

CREATE TABLE cursors (
	location_id TEXT NOT NULL,
	name        TEXT NOT NULL,
	value       TEXT NOT NULL,
	updated_at  BIGINT NOT NULL,
	PRIMARY KEY (location_id, name)
);

-- The change feed. Writers take a transaction-scoped advisory lock before
-- appending, so seq order is commit order even with several processes.
CREATE TABLE events (
	seq         BIGSERIAL PRIMARY KEY,
	location_id TEXT NOT NULL,
	kind        TEXT NOT NULL,
	record_type TEXT NOT NULL,
	record_id   TEXT NOT NULL,
	at          BIGINT NOT NULL,
	data        TEXT NOT NULL
);
CREATE INDEX events_by_location ON events (location_id, seq);
