-- Webhooks: where the vendor hears of events, and every delivery owed to them. A delivery is
-- signed with its webhook's secret (HMAC-SHA256 over the timestamp and the body), retried with
-- backoff for a day, and kept: the delivery log the console and the CLI show and replay from.
-- A webhook is disabled, never deleted, so its log stays. Times are Unix seconds.
CREATE TABLE webhooks (
    id          TEXT PRIMARY KEY,
    url         TEXT NOT NULL,
    events      TEXT NOT NULL,
    secret      TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    disabled    BIGINT NOT NULL DEFAULT 0
);
CREATE TABLE webhook_deliveries (
    id              TEXT PRIMARY KEY,
    webhook_id      TEXT NOT NULL REFERENCES webhooks(id),
    event           TEXT NOT NULL,
    body            TEXT NOT NULL,
    -- One delivery per webhook and key ('grace:LICENSE:END'): an hourly scan or a second
    -- instance owes no second one.
    dedup_key       TEXT,
    created_at      BIGINT NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    -- When it is next tried; NULL once delivered or given up.
    next_attempt_at BIGINT,
    delivered_at    BIGINT,
    last_status     TEXT
);
CREATE UNIQUE INDEX webhook_deliveries_once ON webhook_deliveries(webhook_id, dedup_key);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries(next_attempt_at)
    WHERE next_attempt_at IS NOT NULL;
CREATE INDEX webhook_deliveries_log ON webhook_deliveries(created_at);
