-- 0002: monitoring history: monitors, locations, raw results, transitions, rollups, engine sessions.
-- Times are INTEGER Unix milliseconds UTC (see the package comment).

-- monitors gives every monitor name ever seen a small integer id, so that the big tables store
-- an integer instead of the name. A monitor removed from the policy keeps its row and history;
-- one added again under the same name gets its history back.
CREATE TABLE monitors (
    id         INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
) STRICT;

-- locations names the places checks run from: 'local' (the server) has id 1; remote agents get
-- theirs when their first result arrives.
CREATE TABLE locations (
    id   INTEGER PRIMARY KEY,
    name TEXT    NOT NULL UNIQUE
) STRICT;
INSERT INTO locations (id, name) VALUES (1, 'local');

-- results keeps every check result for server.history.raw. The row is kept small because there
-- are many (10,000 monitors at 60 s make 14.4 million a day): integer ids, ms times, latency in
-- microseconds, outcome as 0 up / 1 degraded / 2 down (SQLite stores 0 and 1 in no bytes at all),
-- code and error NULL when there is none. The primary key is the idempotency key of a result and,
-- WITHOUT ROWID, also the table's only b-tree, ordered by monitor and time: the order in which
-- results are read (a monitor's history, an hour's rollup) and pruned.
CREATE TABLE results (
    monitor    INTEGER NOT NULL,
    time       INTEGER NOT NULL,
    location   INTEGER NOT NULL,
    latency_us INTEGER NOT NULL,
    outcome    INTEGER NOT NULL CHECK (outcome IN (0, 1, 2)),
    code       INTEGER,
    error      TEXT,
    PRIMARY KEY (monitor, time, location)
) STRICT, WITHOUT ROWID;

-- transitions keeps every confirmed change of a monitor's state, forever: uptime is computed
-- from them. id gives the order in which they were confirmed.
CREATE TABLE transitions (
    id         INTEGER PRIMARY KEY,
    monitor    INTEGER NOT NULL REFERENCES monitors (id),
    at         INTEGER NOT NULL,
    from_state TEXT    NOT NULL,
    to_state   TEXT    NOT NULL,
    cause      TEXT    NOT NULL
) STRICT;
CREATE INDEX transitions_monitor_at ON transitions (monitor, at, id);

-- rollups summarise the raw results of one monitor over one hour (span 'h') or one UTC day
-- (span 'd'), kept for server.history.rollups. Latencies are microseconds over the results
-- that have one; NULL when none has.
CREATE TABLE rollups (
    monitor     INTEGER NOT NULL,
    span        TEXT    NOT NULL CHECK (span IN ('h', 'd')),
    start       INTEGER NOT NULL,
    checks      INTEGER NOT NULL,
    failures    INTEGER NOT NULL,
    degraded    INTEGER NOT NULL,
    latency_p50 INTEGER,
    latency_p95 INTEGER,
    latency_max INTEGER,
    PRIMARY KEY (monitor, span, start)
) STRICT, WITHOUT ROWID;

-- sessions records when the monitoring engine ran. Time outside every session is "no data" in
-- uptime reports, never "up". last_alive_at is moved forward every few seconds; a session that
-- ended without ended_at (kill -9, power loss) is taken to have ended at last_alive_at.
CREATE TABLE sessions (
    id            INTEGER PRIMARY KEY,
    started_at    INTEGER NOT NULL,
    last_alive_at INTEGER NOT NULL,
    ended_at      INTEGER
) STRICT;
