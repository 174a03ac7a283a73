-- Tenure's tables in the product database. Portable across SQLite and PostgreSQL:
-- TEXT and BIGINT only; times are Unix seconds (UTC).

-- The signed license for this database, exactly as received (one row, slot 'current').
CREATE TABLE tenure_license (
    slot          TEXT PRIMARY KEY,
    license_id    TEXT NOT NULL,
    armored       TEXT NOT NULL,
    validated_at  BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);

CREATE TABLE tenure_users (
    login       TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    email       TEXT NOT NULL,
    disabled    BIGINT NOT NULL DEFAULT 0,
    created_at  BIGINT NOT NULL
);

CREATE TABLE tenure_seats (
    login        TEXT PRIMARY KEY REFERENCES tenure_users(login),
    assigned_at  BIGINT NOT NULL,
    assigned_by  TEXT NOT NULL
);

CREATE TABLE tenure_sessions (
    id              TEXT PRIMARY KEY,
    login           TEXT NOT NULL,
    machine         TEXT NOT NULL,
    started_at      BIGINT NOT NULL,
    heartbeat_at    BIGINT NOT NULL,
    lease_until     BIGINT NOT NULL,
    borrowed_until  BIGINT,
    ended_by        TEXT
);

-- Audit: activation, validation, rebind, failures (and later seats and sessions).
CREATE TABLE tenure_events (
    id       TEXT PRIMARY KEY,
    at       BIGINT NOT NULL,
    kind     TEXT NOT NULL,
    outcome  TEXT NOT NULL,
    login    TEXT NOT NULL,
    host     TEXT NOT NULL,
    detail   TEXT NOT NULL
);
CREATE INDEX tenure_events_at ON tenure_events(at);
