-- Access: the installation's settings and sealed secrets, Rankr API keys,
-- and the audit log (hash-chained, with signed checkpoints).
CREATE TABLE installation (
	id         INTEGER PRIMARY KEY CHECK (id = 1),
	install_id TEXT NOT NULL,
	allow_ips  TEXT NOT NULL DEFAULT '', -- CIDRs, space-separated; '' = any address
	created_at BIGINT NOT NULL
);

-- Secrets of the installation itself (the API key pepper, the audit
-- signing key), sealed by the vault, never clear text.
CREATE TABLE install_secrets (
	name       TEXT PRIMARY KEY,
	sealed     BYTEA NOT NULL,
	created_at BIGINT NOT NULL
);

CREATE TABLE api_keys (
	id            TEXT PRIMARY KEY, -- the key id, part of the key
	name          TEXT NOT NULL DEFAULT '',
	test          BOOLEAN NOT NULL,
	hash          BYTEA NOT NULL, -- HMAC-SHA256 of the key under the pepper; never the key
	last4         TEXT NOT NULL,
	role          TEXT NOT NULL,
	scopes        TEXT NOT NULL, -- space-separated
	locations     TEXT NOT NULL DEFAULT '',
	allow_ips     TEXT NOT NULL DEFAULT '',
	created_by    TEXT NOT NULL,
	created_at    BIGINT NOT NULL,
	expires_at    BIGINT NOT NULL,
	revoked_at    BIGINT,
	rotated_from  TEXT NOT NULL DEFAULT '',
	last_used_at  BIGINT,
	last_used_ip  TEXT NOT NULL DEFAULT '',
	last_used_ua  TEXT NOT NULL DEFAULT '',
	expiry_warned BIGINT NOT NULL DEFAULT 0
);

-- The audit log. body is the record's canonical JSON and hash chains it to
-- the record before (see rankr.AuditChain); the other columns repeat what
-- the body says, for searching, and are checked against it when verified.
CREATE TABLE audit_log (
	seq        BIGINT PRIMARY KEY,
	at         BIGINT NOT NULL,
	actor_type TEXT NOT NULL,
	actor_id   TEXT NOT NULL,
	action     TEXT NOT NULL,
	outcome    TEXT NOT NULL,
	body       BYTEA NOT NULL,
	hash       BYTEA NOT NULL
);
CREATE INDEX audit_log_by_time ON audit_log (at);

-- The log's head: appends lock and advance it, so that records are
-- numbered without gaps in commit order, and a truncation of the log's
-- newest records shows.
CREATE TABLE audit_head (
	id   INTEGER PRIMARY KEY CHECK (id = 1),
	size BIGINT NOT NULL,
	hash BYTEA NOT NULL
);
INSERT INTO audit_head (id, size, hash) VALUES (1, 0, ''::bytea);

CREATE TABLE audit_checkpoints (
	size      BIGINT PRIMARY KEY,
	hash      BYTEA NOT NULL,
	key_id    TEXT NOT NULL,
	signature BYTEA NOT NULL,
	at        BIGINT NOT NULL,
	base      BOOLEAN NOT NULL DEFAULT false
);
