-- 0009: drills run on their schedule inside upkeep serve. drill_runs gains what started a run
-- (trigger: schedule, catch_up, manual for the API, cli for upkeep drill run without a server),
-- the slot a scheduled run was for (scheduled_at), and the status missed: a scheduled drill that
-- did not run (Upkeep was down, or the drill's previous run was still going). SQLite cannot change
-- a CHECK constraint in place: the table is rebuilt (foreign keys are off during migrations).
CREATE TABLE drill_runs_new (
    id            INTEGER NOT NULL PRIMARY KEY,
    drill         TEXT    NOT NULL,
    backup        TEXT    NOT NULL,
    destination   TEXT    NOT NULL,
    status        TEXT    NOT NULL CHECK (status IN ('running', 'passed', 'failed', 'interrupted', 'missed')),
    reason        TEXT    NOT NULL DEFAULT '',
    snapshot      TEXT    NOT NULL DEFAULT '',
    snapshot_at   INTEGER,
    started_at    INTEGER NOT NULL,
    finished_at   INTEGER,
    fetch_ms      INTEGER NOT NULL DEFAULT 0,
    restore_ms    INTEGER NOT NULL DEFAULT 0,
    verify_ms     INTEGER NOT NULL DEFAULT 0,
    rto_ms        INTEGER,
    rpo_ms        INTEGER,
    max_rto_ms    INTEGER NOT NULL DEFAULT 0,
    max_rpo_ms    INTEGER NOT NULL DEFAULT 0,
    files         INTEGER NOT NULL DEFAULT 0,
    bytes         INTEGER NOT NULL DEFAULT 0,
    steps         TEXT    NOT NULL DEFAULT '[]',
    trigger       TEXT    NOT NULL DEFAULT 'cli' CHECK (trigger IN ('schedule', 'catch_up', 'manual', 'cli')),
    scheduled_at  INTEGER
) STRICT;

INSERT INTO drill_runs_new (id, drill, backup, destination, status, reason, snapshot, snapshot_at, started_at, finished_at,
    fetch_ms, restore_ms, verify_ms, rto_ms, rpo_ms, max_rto_ms, max_rpo_ms, files, bytes, steps)
SELECT id, drill, backup, destination, status, reason, snapshot, snapshot_at, started_at, finished_at,
    fetch_ms, restore_ms, verify_ms, rto_ms, rpo_ms, max_rto_ms, max_rpo_ms, files, bytes, steps FROM drill_runs;

DROP TABLE drill_runs;
ALTER TABLE drill_runs_new RENAME TO drill_runs;
CREATE INDEX drill_runs_drill ON drill_runs (drill, id);
CREATE INDEX drill_runs_running ON drill_runs (status) WHERE status = 'running';
