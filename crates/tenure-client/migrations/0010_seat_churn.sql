-- Named seats changing hands, for the churn caps a license may sign: each seat taken from a
-- user (freed, trimmed, the user removed) and each seat given back out after one was taken.
CREATE TABLE tenure_seat_churn (
    login TEXT NOT NULL,
    what  TEXT NOT NULL,
    at    BIGINT NOT NULL
);
CREATE INDEX tenure_seat_churn_at ON tenure_seat_churn(at);
