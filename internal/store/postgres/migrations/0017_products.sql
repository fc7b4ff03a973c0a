-- The catalog: each location's products and their prices, for the names of
-- fulfillment items and order lines and for the catalog views. GHL's
-- price ids are unique across products; product_id says whose a price is.
CREATE TABLE products (
	location_id        TEXT NOT NULL,
	id                 TEXT NOT NULL,
	name               TEXT NOT NULL DEFAULT '',
	description        TEXT NOT NULL DEFAULT '',
	product_type       TEXT NOT NULL DEFAULT '',
	available_in_store BOOLEAN NOT NULL,
	image              TEXT NOT NULL DEFAULT '',
	created_at         BIGINT NOT NULL,
	updated_at         BIGINT NOT NULL,
	content_hash       TEXT NOT NULL,
	raw                TEXT NOT NULL,
	seen_at            BIGINT,
	deleted_at         BIGINT,
	inserted_at        BIGINT NOT NULL,
	PRIMARY KEY (location_id, id)
);
CREATE INDEX products_by_created ON products (location_id, created_at DESC, id DESC);
CREATE INDEX products_by_created_all ON products (created_at DESC, id DESC, location_id DESC);
CREATE INDEX products_by_id ON products (id);

CREATE TABLE prices (
	location_id        TEXT NOT NULL,
	id                 TEXT NOT NULL,
	product_id         TEXT NOT NULL,
	name               TEXT NOT NULL DEFAULT '',
	type               TEXT NOT NULL DEFAULT '',
	amount             BIGINT NOT NULL,
	currency           TEXT NOT NULL DEFAULT '',
	billing_interval   TEXT NOT NULL DEFAULT '',
	interval_count     BIGINT NOT NULL DEFAULT 0,
	sku                TEXT NOT NULL DEFAULT '',
	track_inventory    BOOLEAN NOT NULL,
	available_quantity BIGINT,
	created_at         BIGINT NOT NULL,
	updated_at         BIGINT NOT NULL,
	content_hash       TEXT NOT NULL,
	raw                TEXT NOT NULL,
	seen_at            BIGINT,
	deleted_at         BIGINT,
	inserted_at        BIGINT NOT NULL,
	PRIMARY KEY (location_id, id)
);
CREATE INDEX prices_by_product ON prices (location_id, product_id, created_at, id);
