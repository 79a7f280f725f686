-- 0004: incidents, their monitors and timeline, and the notification outbox.
-- Times are INTEGER Unix milliseconds UTC (see the package comment).

-- incidents: automatic ones (opened by monitors) and manual ones. steps_run and reminders are
-- the escalation's progress: the schedule is recomputed from them after a restart. report is
-- the post-mortem as JSON, NULL until written. AUTOINCREMENT: incident numbers are cited.
CREATE TABLE incidents (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    title           TEXT    NOT NULL,
    status          TEXT    NOT NULL CHECK (status IN ('investigating', 'identified', 'monitoring', 'resolved')),
    impact          TEXT    NOT NULL CHECK (impact IN ('none', 'minor', 'major', 'critical')),
    services        TEXT    NOT NULL DEFAULT '[]', -- JSON array of service names
    automatic       INTEGER NOT NULL CHECK (automatic IN (0, 1)),
    escalation      TEXT    NOT NULL DEFAULT '',
    started_at      INTEGER NOT NULL,
    opened_at       INTEGER NOT NULL,
    acknowledged_at INTEGER,
    acknowledged_by TEXT    NOT NULL DEFAULT '',
    resolved_at     INTEGER,
    steps_run       INTEGER NOT NULL DEFAULT 0,
    reminders       INTEGER NOT NULL DEFAULT 0,
    report          TEXT,
    updated_at      INTEGER NOT NULL
) STRICT;
CREATE INDEX incidents_open ON incidents (id) WHERE resolved_at IS NULL;

-- incident_monitors: the monitors that are part of an incident and their latest state.
CREATE TABLE incident_monitors (
    incident INTEGER NOT NULL REFERENCES incidents (id),
    monitor  TEXT    NOT NULL,
    service  TEXT    NOT NULL,
    state    TEXT    NOT NULL,
    failing  INTEGER NOT NULL CHECK (failing IN (0, 1)),
    since    INTEGER NOT NULL,
    PRIMARY KEY (incident, monitor)
) STRICT, WITHOUT ROWID;

-- incident_updates: the timeline: messages written by people and events recorded by Upkeep.
CREATE TABLE incident_updates (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    incident INTEGER NOT NULL REFERENCES incidents (id),
    at       INTEGER NOT NULL,
    kind     TEXT    NOT NULL CHECK (kind IN ('update', 'event')),
    status   TEXT    NOT NULL,
    message  TEXT    NOT NULL,
    author   TEXT    NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX incident_updates_incident ON incident_updates (incident, id);

-- outbox: every notification, written in the transaction of the change that causes it and
-- before it is sent. key is the idempotency key (incident, step, channel, event): a step run
-- twice inserts nothing the second time.
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    key             TEXT    NOT NULL UNIQUE,
    incident        INTEGER NOT NULL REFERENCES incidents (id),
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
CREATE INDEX outbox_pending ON outbox (id) WHERE state = 'pending';
CREATE INDEX outbox_incident ON outbox (incident, event);
CREATE INDEX outbox_state ON outbox (state, id);

-- Transitions stored before incidents existed are history, not outages to open now.
INSERT INTO meta (key, value) VALUES ('incidents_watermark', (SELECT CAST(coalesce(max(id), 0) AS TEXT) FROM transitions));
-- The key that signs one-click acknowledgement links.
INSERT INTO meta (key, value) VALUES ('ack_key', lower(hex(randomblob(32))));
