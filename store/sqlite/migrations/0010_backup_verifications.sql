-- 0009: verifications of backup repositories (package backup). Times are INTEGER Unix
-- milliseconds UTC.

-- backup_verifications keeps one row per verification of one destination's repository of a
-- job, written when it starts (status running) and updated when it ends. One still running when
-- the store is opened by the next process holding the data directory was cut short by a crash:
-- it is marked failed ("interrupted") then. read_data is the share of the content read back
-- (0 to 1); objects counts the directories and files checked.
CREATE TABLE backup_verifications (
    id          INTEGER NOT NULL PRIMARY KEY,
    job         TEXT    NOT NULL,
    destination TEXT    NOT NULL,
    trigger     TEXT    NOT NULL CHECK (trigger IN ('schedule', 'manual', 'cli')),
    status      TEXT    NOT NULL CHECK (status IN ('running', 'intact', 'failed')),
    started_at  INTEGER NOT NULL,
    ended_at    INTEGER,
    read_data   REAL    NOT NULL DEFAULT 0,
    snapshots   INTEGER NOT NULL DEFAULT 0,
    objects     INTEGER NOT NULL DEFAULT 0,
    read_files  INTEGER NOT NULL DEFAULT 0,
    read_bytes  INTEGER NOT NULL DEFAULT 0,
    error       TEXT    NOT NULL DEFAULT ''
) STRICT;

CREATE INDEX backup_verifications_job ON backup_verifications (job, id);
CREATE INDEX backup_verifications_running ON backup_verifications (status) WHERE status = 'running';
