-- 0001: instance metadata, API tokens, the audit log.
-- Times are INTEGER Unix milliseconds UTC; NULL means "never" (see the package comment).

-- meta holds facts about this store as key/value text.
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT, WITHOUT ROWID;

-- instance_id names this installation; generated once, when the store is created.
INSERT INTO meta (key, value) VALUES ('instance_id', lower(hex(randomblob(16))));

-- tokens keeps API tokens. Only the SHA-256 of the secret is stored (upkeep.HashToken), so a copy
-- of the data directory does not give API access. Revoked tokens stay for the record; a name is
-- unique among active tokens only, so a revoked name can be reused.
CREATE TABLE tokens (
    id           INTEGER PRIMARY KEY,
    name         TEXT    NOT NULL,
    prefix       TEXT    NOT NULL,
    hash         TEXT    NOT NULL UNIQUE,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER,
    revoked_at   INTEGER
) STRICT;

CREATE UNIQUE INDEX tokens_active_name ON tokens (name) WHERE revoked_at IS NULL;

-- audit records every authenticated API request before it is handled. AUTOINCREMENT so that an
-- id is never reused, even if the newest rows were ever deleted: ids are cited in reports.
CREATE TABLE audit (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    time        INTEGER NOT NULL,
    token       TEXT    NOT NULL,
    method      TEXT    NOT NULL,
    path        TEXT    NOT NULL,
    request_id  TEXT    NOT NULL,
    remote_addr TEXT    NOT NULL
) STRICT;
