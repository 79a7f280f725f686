-- 0008: restore drill runs (package drill). Times are INTEGER Unix milliseconds UTC, durations
-- INTEGER milliseconds.

-- drill_runs keeps one row per run of a drill, written when the run starts (status running) and
-- updated when it ends. A run still running when Upkeep starts again was cut short by a crash and
-- is marked interrupted then (MarkInterruptedDrillRuns). steps is the JSON array of the verify
-- steps' results; rto_ms and rpo_ms are NULL until measured.
CREATE TABLE drill_runs (
    id            INTEGER NOT NULL PRIMARY KEY,
    drill         TEXT    NOT NULL,
    backup        TEXT    NOT NULL,
    destination   TEXT    NOT NULL,
    status        TEXT    NOT NULL CHECK (status IN ('running', 'passed', 'failed', 'interrupted')),
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
    steps         TEXT    NOT NULL DEFAULT '[]'
) STRICT;

CREATE INDEX drill_runs_drill ON drill_runs (drill, id);
CREATE INDEX drill_runs_running ON drill_runs (status) WHERE status = 'running';
