-- Outbound signing-secret rotation: the secret an endpoint had before its
-- last rotation (sealed by the vault, like secret) keeps signing beside the
-- new one until previous_until (Unix ms, by the database's clock).
ALTER TABLE webhook_endpoints ADD COLUMN previous_secret BLOB;
ALTER TABLE webhook_endpoints ADD COLUMN previous_until INTEGER;
