-- 0003: heartbeat monitors and the pings they receive (package heartbeat).
-- Times are INTEGER Unix milliseconds UTC (see the package comment).

-- heartbeats keeps, for every monitor that is or was a heartbeat, the UUID of its ping URL: taken
-- from the policy, or generated once and kept, so that a URL written into a crontab keeps working
-- across restarts and reloads. A monitor removed from the policy keeps its row (and its UUID, for
-- when it comes back) but is no longer active. since is when the monitor last became an active
-- heartbeat: until its first ping, its first deadline counts from then.
CREATE TABLE heartbeats (
    monitor INTEGER NOT NULL PRIMARY KEY REFERENCES monitors (id),
    uuid    TEXT    NOT NULL UNIQUE CHECK (length(uuid) = 36 AND uuid = lower(uuid)),
    active  INTEGER NOT NULL CHECK (active IN (0, 1)),
    since   INTEGER NOT NULL
) STRICT;

-- pings keeps what jobs sent: one row per ping, written before the ping is answered. (monitor,
-- time) is unique: two pings of a monitor in the same millisecond are a millisecond apart.
-- kind is success, start, fail, log or exit (exit_status says which); a completion (success,
-- fail, exit) paired with its start by run id, or with the latest unpaired start, has started_at,
-- the start's time, so the run's duration is time - started_at. body keeps at most the first
-- 100 kB of the request body; body_size is how many bytes arrived, truncated says whether some
-- were not kept. The newest pings of each monitor are kept (heartbeats.go, keepPings).
CREATE TABLE pings (
    monitor     INTEGER NOT NULL REFERENCES monitors (id),
    time        INTEGER NOT NULL,
    kind        TEXT    NOT NULL CHECK (kind IN ('success', 'start', 'fail', 'log', 'exit')),
    exit_status INTEGER CHECK (exit_status BETWEEN 0 AND 255),
    rid         TEXT,
    started_at  INTEGER,
    method      TEXT    NOT NULL,
    remote_addr TEXT    NOT NULL,
    user_agent  TEXT    NOT NULL,
    body        BLOB,
    body_size   INTEGER NOT NULL,
    truncated   INTEGER NOT NULL CHECK (truncated IN (0, 1)),
    PRIMARY KEY (monitor, time)
) STRICT;

-- Finding whether a start has been paired, when a monitor's state is loaded.
CREATE INDEX pings_started_at ON pings (monitor, started_at) WHERE started_at IS NOT NULL;
