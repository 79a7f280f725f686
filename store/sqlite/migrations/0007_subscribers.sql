-- 0007: status page subscribers (e-mail after double opt-in, webhooks) and the watermark of
-- their fan-out. Times are INTEGER Unix milliseconds UTC (see the package comment).

-- subscribers: address is the e-mail address (lower case) or the webhook URL; services is a
-- JSON array of service names (empty: all); secret signs webhook bodies. An e-mail subscriber
-- receives nothing until confirmed_at is set. Unsubscribing deletes the row. AUTOINCREMENT:
-- ids are in idempotency keys and links and are never reused.
CREATE TABLE subscribers (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    kind         TEXT    NOT NULL CHECK (kind IN ('email', 'webhook')),
    address      TEXT    NOT NULL,
    services     TEXT    NOT NULL DEFAULT '[]',
    secret       TEXT    NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL,
    confirmed_at INTEGER,
    UNIQUE (kind, address)
) STRICT;
CREATE INDEX subscribers_pending ON subscribers (created_at) WHERE confirmed_at IS NULL;

-- Incident updates written before subscriptions existed are history, not news.
INSERT INTO meta (key, value) VALUES ('subscribers_watermark', (SELECT CAST(coalesce(max(id), 0) AS TEXT) FROM incident_updates));
-- The key that signs confirmation and unsubscribe links.
INSERT INTO meta (key, value) VALUES ('subscription_key', lower(hex(randomblob(32))));
