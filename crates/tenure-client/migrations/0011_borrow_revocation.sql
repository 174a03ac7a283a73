-- A borrowed seat an admin revoked (a lost laptop): still counted until the borrow ends or the
-- laptop, back in reach of the pool, learns of it and drops its borrow.
ALTER TABLE tenure_sessions ADD COLUMN revoked_at BIGINT;
ALTER TABLE tenure_sessions ADD COLUMN revoked_by TEXT;
