-- The last webhook of each location, for the overview and the doctor:
-- the newest row of a location is one index probe, whatever the inbox's
-- size.
CREATE INDEX webhook_inbox_location ON webhook_inbox (location_id, seq);
