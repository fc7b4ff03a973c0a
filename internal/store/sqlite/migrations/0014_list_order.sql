-- The API's lists across locations (and within the locations a key is
-- bound to) page by (created_at, id, location_id); these serve them
-- without sorting the table. The fulfillment queue, oldest first, has an
-- index of its own, whose condition is the query's word for word.
CREATE INDEX orders_by_created_all ON orders (created_at DESC, id DESC, location_id DESC);
CREATE INDEX fulfillments_by_created_all ON fulfillments (created_at DESC, id DESC, location_id DESC);
CREATE INDEX transactions_by_created_all ON transactions (created_at DESC, id DESC, location_id DESC);
CREATE INDEX subscriptions_by_created_all ON subscriptions (created_at DESC, id DESC, location_id DESC);
CREATE INDEX invoices_by_created_all ON invoices (created_at DESC, id DESC, location_id DESC);
CREATE INDEX orders_to_fulfill ON orders (created_at, id, location_id)
	WHERE payment_status = 'paid' AND fulfillment_status <> 'fulfilled' AND deleted_at IS NULL;
CREATE INDEX fulfillment_pushes_by_created ON fulfillment_pushes (created_at DESC, id DESC, location_id DESC);
CREATE INDEX notices_by_created ON notices (created_at DESC, id DESC, location_id DESC);
-- An order's page shows the events of the order and of its payments and
-- fulfillments.
CREATE INDEX events_by_record ON events (location_id, record_id, seq);
