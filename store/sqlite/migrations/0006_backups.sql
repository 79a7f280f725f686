-- 0006: backup runs (package backup). Times are INTEGER Unix milliseconds UTC.

-- backup_runs keeps one row per run of a backup job, written when the run starts (status
-- running) and updated when it ends. A run still running when the store is opened by the next
-- process was cut short by a crash: it is marked failed ("interrupted") then. A schedule slot
-- missed while Upkeep was not running is a row of its own with status missed. scheduled is the
-- slot a scheduled or catch-up run was for (NULL for manual runs).
CREATE TABLE backup_runs (
    id         INTEGER NOT NULL PRIMARY KEY,
    job        TEXT    NOT NULL,
    trigger    TEXT    NOT NULL CHECK (trigger IN ('schedule', 'catch_up', 'manual', 'cli')),
    status     TEXT    NOT NULL CHECK (status IN ('running', 'succeeded', 'partial', 'failed', 'missed')),
    scheduled  INTEGER,
    started_at INTEGER NOT NULL,
    ended_at   INTEGER,
    error      TEXT    NOT NULL DEFAULT ''
) STRICT;

CREATE INDEX backup_runs_job ON backup_runs (job, id);
CREATE INDEX backup_runs_running ON backup_runs (status) WHERE status = 'running';

-- backup_run_destinations keeps what a run did at each destination: the snapshot written, the
-- bytes read from the source and added to the repository (after deduplication and compression),
-- the files, how many old snapshots retention forgot, and the error if it failed.
CREATE TABLE backup_run_destinations (
    run         INTEGER NOT NULL REFERENCES backup_runs (id) ON DELETE CASCADE,
    destination TEXT    NOT NULL,
    status      TEXT    NOT NULL CHECK (status IN ('running', 'succeeded', 'failed')),
    snapshot    TEXT    NOT NULL DEFAULT '',
    started_at  INTEGER NOT NULL,
    ended_at    INTEGER,
    bytes_read  INTEGER NOT NULL DEFAULT 0,
    bytes_added INTEGER NOT NULL DEFAULT 0,
    files       INTEGER NOT NULL DEFAULT 0,
    forgotten   INTEGER NOT NULL DEFAULT 0,
    error       TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (run, destination)
) STRICT;
