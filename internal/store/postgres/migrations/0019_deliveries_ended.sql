-- The outbound deliveries that ended (delivered, or dead after their last
-- attempt), by when: serve prunes those older than --delivery-retention,
-- and without this each pruning would read the whole table.
CREATE INDEX webhook_deliveries_ended ON webhook_deliveries (updated_at) WHERE state IN ('delivered', 'dead');
