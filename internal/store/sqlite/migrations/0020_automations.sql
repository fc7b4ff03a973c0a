-- No-code automations. An automation's row names its live version; the
-- versions themselves are immutable. A version swap is one update of the
-- automation's row, so the run an event gets (inserted with the event, in
-- its transaction, on the version the row names) is on the old version or
-- the new one, never both or neither.
CREATE TABLE automations (
	id            TEXT PRIMARY KEY,
	version       INTEGER NOT NULL,
	enabled       INTEGER NOT NULL,
	description   TEXT NOT NULL DEFAULT '',
	trigger_key   TEXT NOT NULL, -- without its version
	all_locations INTEGER NOT NULL, -- 0: only those in automation_locations
	created_at    INTEGER NOT NULL,
	updated_at    INTEGER NOT NULL
);
-- What every change-feed event that fires a trigger looks up, in its own
-- transaction: only the enabled automations, so that disabled ones cost
-- the feed nothing.
CREATE INDEX automations_by_trigger ON automations (trigger_key) WHERE enabled;

CREATE TABLE automation_locations (
	automation_id TEXT NOT NULL REFERENCES automations (id),
	location_id   TEXT NOT NULL,
	PRIMARY KEY (automation_id, location_id)
);

CREATE TABLE automation_versions (
	automation_id TEXT NOT NULL REFERENCES automations (id),
	version       INTEGER NOT NULL,
	source        TEXT NOT NULL, -- the file as it was given
	definition    TEXT NOT NULL, -- JSON, as rankr understood it
	checksum      TEXT NOT NULL,
	author        TEXT NOT NULL, -- JSON AuditActor
	note          TEXT NOT NULL DEFAULT '',
	created_at    INTEGER NOT NULL,
	PRIMARY KEY (automation_id, version)
);

-- One run per automation and event id: inserting it again is a no-op, so
-- a webhook GHL delivers twice, or an event replayed, runs once.
CREATE TABLE automation_runs (
	id              INTEGER PRIMARY KEY AUTOINCREMENT,
	automation_id   TEXT NOT NULL REFERENCES automations (id),
	version         INTEGER NOT NULL,
	event_id        TEXT NOT NULL, -- feed:<seq>, webhook:<id>, schedule:<slot>, manual:<id>
	event_seq       INTEGER NOT NULL DEFAULT 0,
	location_id     TEXT NOT NULL,
	trigger_key     TEXT NOT NULL,
	payload         TEXT, -- JSON; NULL until the run starts, but for a webhook's
	status          TEXT NOT NULL, -- queued, running, succeeded, failed, skipped, paused, canceled
	reason          TEXT NOT NULL DEFAULT '',
	attempts        INTEGER NOT NULL DEFAULT 0,
	next_attempt_at INTEGER NOT NULL, -- by the database's clock
	lease           TEXT NOT NULL DEFAULT '', -- the claim of the runner holding it
	lease_until     INTEGER,
	concurrency_key TEXT NOT NULL DEFAULT '',
	created_at      INTEGER NOT NULL,
	started_at      INTEGER,
	finished_at     INTEGER,
	UNIQUE (automation_id, event_id)
);
CREATE INDEX automation_runs_due ON automation_runs (status, next_attempt_at, id);
-- Two runs of one automation holding the same concurrency key cannot both
-- be running, whatever a runner believes.
CREATE UNIQUE INDEX automation_runs_concurrency ON automation_runs (automation_id, concurrency_key)
	WHERE status = 'running' AND concurrency_key <> '';
CREATE INDEX automation_runs_by_automation ON automation_runs (automation_id, id);
CREATE INDEX automation_runs_by_status ON automation_runs (status, id);
-- The runs a resumed location queues again.
CREATE INDEX automation_runs_paused ON automation_runs (location_id) WHERE status = 'paused';

-- Every attempt at every step, as it was.
CREATE TABLE automation_steps (
	run_id      INTEGER NOT NULL REFERENCES automation_runs (id),
	step_id     TEXT NOT NULL,
	attempt     INTEGER NOT NULL,
	status      TEXT NOT NULL, -- succeeded, failed, skipped, unknown
	error_class TEXT NOT NULL DEFAULT '',
	error       TEXT NOT NULL DEFAULT '',
	input       TEXT,
	output      TEXT,
	request     TEXT,
	ms          INTEGER NOT NULL DEFAULT 0,
	started_at  INTEGER NOT NULL,
	PRIMARY KEY (run_id, step_id, attempt)
);

-- The locations whose automations wait: GHL refused their credential.
CREATE TABLE automation_pauses (
	location_id TEXT PRIMARY KEY,
	reason      TEXT NOT NULL,
	since       INTEGER NOT NULL
);
