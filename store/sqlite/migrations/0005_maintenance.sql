-- 0005: maintenance windows scheduled through the API, maintenance notices in the outbox, and
-- results during maintenance counted apart in rollups.
-- Times are INTEGER Unix milliseconds UTC (see the package comment).

-- maintenance keeps the ad-hoc windows (the policy's windows live in the policy). end_at is the
-- planned end, moved to the moment it was ended early; cancelled_at is set when a window was
-- ended before it began. AUTOINCREMENT: window ids are cited in notices and never reused.
CREATE TABLE maintenance (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    title        TEXT    NOT NULL,
    description  TEXT    NOT NULL DEFAULT '',
    services     TEXT    NOT NULL DEFAULT '[]', -- JSON array of service names
    monitors     TEXT    NOT NULL DEFAULT '[]', -- JSON array of monitor names
    notify       TEXT    NOT NULL DEFAULT '[]', -- JSON array of channel names
    notify_before INTEGER NOT NULL DEFAULT 0,   -- ms
    start_at     INTEGER NOT NULL,
    end_at       INTEGER NOT NULL CHECK (end_at > start_at),
    created_at   INTEGER NOT NULL,
    cancelled_at INTEGER
) STRICT;
CREATE INDEX maintenance_end ON maintenance (end_at);

-- outbox.incident becomes optional: maintenance notices belong to a window, not to an incident.
-- SQLite cannot drop NOT NULL in place, so the table is rebuilt (foreign keys are checked by the
-- migration runner before commit).
CREATE TABLE outbox_new (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    key             TEXT    NOT NULL UNIQUE,
    incident        INTEGER REFERENCES incidents (id), -- NULL for maintenance notices
    channel         TEXT    NOT NULL,
    event           TEXT    NOT NULL,
    step            INTEGER NOT NULL,
    payload         TEXT    NOT NULL, -- JSON
    state           TEXT    NOT NULL CHECK (state IN ('pending', 'sent', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT    NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL,
    sent_at         INTEGER,
    failed_at       INTEGER
) STRICT;
INSERT INTO outbox_new SELECT id, key, incident, channel, event, step, payload, state, attempts, next_attempt_at,
    last_error, created_at, sent_at, failed_at FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_new RENAME TO outbox;
CREATE INDEX outbox_pending ON outbox (id) WHERE state = 'pending';
CREATE INDEX outbox_incident ON outbox (incident, event);
CREATE INDEX outbox_state ON outbox (state, id);

-- rollups.maintenance counts the results taken while the monitor was in maintenance; they are in
-- checks but not in failures or degraded: planned downtime is not an SLA failure.
ALTER TABLE rollups ADD COLUMN maintenance INTEGER NOT NULL DEFAULT 0;
