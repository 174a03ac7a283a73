-- The deployment's signing identity: every instance sharing this database signs with the key
-- recorded as current here, and sends its certificate. An instance with another key refuses
-- to start.
CREATE TABLE signing_keys (
    key_id       TEXT PRIMARY KEY,
    certificate  TEXT,
    current      BIGINT NOT NULL DEFAULT 0,
    recorded_at  BIGINT NOT NULL
);

-- One row the health check rewrites (at most once a second): a database that cannot write
-- (disk full, read-only) makes /v1/health answer 503.
CREATE TABLE health_probe (
    slot  TEXT PRIMARY KEY,
    at    BIGINT NOT NULL
);
