-- When the last INSTALL or UNINSTALL webhook followed for the location
-- happened (Unix ms): an older one, applied late, changes nothing.
ALTER TABLE connections ADD COLUMN install_event_at BIGINT;
