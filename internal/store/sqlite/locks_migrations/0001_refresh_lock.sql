-- The lock OAuth token refreshes take (see sqlstore.SeparateLocks): a write
-- to this one row holds this file's write lock, which every process
-- opening the database shares, without holding the records' file.
CREATE TABLE refresh_lock (n INTEGER NOT NULL);
INSERT INTO refresh_lock (n) VALUES (0);
