-- Concurrent seats: a session is a lease row; it ends by check-in, by an admin, by a borrow's
-- return, or by its lease running out (ended_at = lease_until). Ended rows stay, for usage reports.
-- Every checkout first bumps tenure_pool's row, which serialises checkouts on SQLite and
-- PostgreSQL alike, so the count it judges by cannot change under it.

ALTER TABLE tenure_sessions ADD COLUMN ended_at BIGINT;
CREATE INDEX tenure_sessions_active ON tenure_sessions(ended_at, lease_until);
CREATE INDEX tenure_sessions_started ON tenure_sessions(started_at);

CREATE TABLE tenure_pool (
    slot        TEXT PRIMARY KEY,
    generation  BIGINT NOT NULL
);
INSERT INTO tenure_pool (slot, generation) VALUES ('seats', 0);

-- Checkouts refused because the pool was full.
CREATE TABLE tenure_refusals (
    at       BIGINT NOT NULL,
    login    TEXT NOT NULL,
    machine  TEXT NOT NULL
);
CREATE INDEX tenure_refusals_at ON tenure_refusals(at);
