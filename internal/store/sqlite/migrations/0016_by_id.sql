-- The routes that show one record by id alone (GET /api/v1/orders/{id},
-- and transactions', fulfillments', subscriptions', invoices') look the id
-- up without its location, which the primary keys (location_id, id)
-- cannot serve: without these, each is a scan of the table.
CREATE INDEX orders_by_id ON orders (id);
CREATE INDEX transactions_by_id ON transactions (id);
CREATE INDEX fulfillments_by_id ON fulfillments (id);
CREATE INDEX subscriptions_by_id ON subscriptions (id);
CREATE INDEX invoices_by_id ON invoices (id);
-- An order's page lists its payments and fulfillments newest first. With
-- the order alone in the index, SQLite (which keeps no statistics here)
-- takes the location's index by creation instead, to skip the sort, and
-- walks every payment of the location looking for the order's: the order
-- and the list's order in one index leave it nothing better to choose.
DROP INDEX transactions_by_order;
CREATE INDEX transactions_by_order ON transactions (location_id, order_id, created_at DESC, id DESC);
DROP INDEX fulfillments_by_order;
CREATE INDEX fulfillments_by_order ON fulfillments (location_id, order_id, created_at DESC, id DESC);
-- The overview's outstanding money (every location's balances since the
-- month began) and the reconciliation report across locations read
-- balances by creation time, which only the location's index held.
CREATE INDEX reconcile_balances_by_created_all ON reconcile_balances (record_created_at DESC, record_type, record_id DESC);
