-- GHL OAuth (marketplace app): the app's settings and client secrets, the
-- one-time install links and states, the tokens of each install (company
-- and location, sealed by the vault), and INSTALL webhooks parked until
-- their company's token exists.
CREATE TABLE oauth_app (
	id             INTEGER PRIMARY KEY CHECK (id = 1),
	client_id      TEXT NOT NULL,
	redirect_uri   TEXT NOT NULL,
	authorize_host TEXT NOT NULL,
	base_url       TEXT NOT NULL,
	push           INTEGER NOT NULL DEFAULT 0, -- ask for payments/orders.write
	updated_at     INTEGER NOT NULL
);

CREATE TABLE oauth_client_secrets (
	id         TEXT PRIMARY KEY,
	client_id  TEXT NOT NULL,
	sealed     BLOB NOT NULL, -- never clear text
	created_at INTEGER NOT NULL,
	retired_at INTEGER
);

-- One-time values: install links (kind 'link') and OAuth states (kind
-- 'state'), stored as their SHA-256.
CREATE TABLE oauth_states (
	hash       BLOB PRIMARY KEY,
	kind       TEXT NOT NULL,
	actor      TEXT NOT NULL, -- the audit actor (JSON) who made the link
	company    INTEGER NOT NULL DEFAULT 0, -- an agency (bulk) install
	expires_at INTEGER NOT NULL,
	used_at    INTEGER
);

CREATE TABLE oauth_tokens (
	id                 TEXT PRIMARY KEY, -- company:ID or location:ID
	kind               TEXT NOT NULL,    -- company or location
	company_id         TEXT NOT NULL DEFAULT '',
	location_id        TEXT NOT NULL DEFAULT '',
	secret_id          TEXT NOT NULL,    -- the client secret last used with it
	access_token       BLOB NOT NULL,    -- sealed
	refresh_token      BLOB,             -- sealed; none for some minted location tokens
	expires_at         INTEGER NOT NULL,
	generation         INTEGER NOT NULL, -- +1 with every new pair: refreshes compare and set it
	scopes             TEXT NOT NULL,
	user_id            TEXT NOT NULL DEFAULT '',
	app_id             TEXT NOT NULL DEFAULT '',
	version_id         TEXT NOT NULL DEFAULT '',
	bulk               INTEGER NOT NULL DEFAULT 0,
	derived            INTEGER NOT NULL DEFAULT 0, -- minted from the company's token
	state              TEXT NOT NULL,    -- active, pending, reauth_required, location_inactive
	state_message      TEXT NOT NULL DEFAULT '',
	retry_at           INTEGER,
	pending_id         TEXT NOT NULL DEFAULT '',
	created_at         INTEGER NOT NULL,
	updated_at         INTEGER NOT NULL
);
CREATE INDEX oauth_tokens_by_company ON oauth_tokens (company_id);
CREATE INDEX oauth_tokens_by_pending ON oauth_tokens (pending_id);

CREATE TABLE oauth_parked (
	company_id  TEXT NOT NULL,
	location_id TEXT NOT NULL,
	received_at INTEGER NOT NULL,
	PRIMARY KEY (company_id, location_id)
);
