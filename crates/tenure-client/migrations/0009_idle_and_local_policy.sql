-- Idle release: since when a session's product reports it idle (NULL while in use). And the
-- floating policy the customer set on this database (one row): minutes that may only lengthen
-- what the vendor signed, never shorten it.
ALTER TABLE tenure_sessions ADD COLUMN idle_since BIGINT;
CREATE TABLE tenure_floating_policy (
    slot TEXT PRIMARY KEY,
    linger_mins BIGINT NOT NULL DEFAULT 0,
    idle_timeout_mins BIGINT NOT NULL DEFAULT 0
);
