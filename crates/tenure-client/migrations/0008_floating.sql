-- Floating policies the vendor signs: a seat given beyond the count is marked (overdraft); a
-- seat checked in under a linger keeps its row, still counted, until lease_until, and says
-- since when it lingers (checked_in_at).
ALTER TABLE tenure_sessions ADD COLUMN overdraft BIGINT NOT NULL DEFAULT 0;
ALTER TABLE tenure_sessions ADD COLUMN checked_in_at BIGINT;
