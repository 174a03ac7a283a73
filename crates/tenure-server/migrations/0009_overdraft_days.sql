-- Concurrent seats given beyond the count under a license's overdraft, as its workstation
-- reports them at validation: one row per license and day (UTC midnight, Unix seconds); a
-- later report of the same day replaces the count.
CREATE TABLE overdraft_days (
    license_id  TEXT NOT NULL,
    day         BIGINT NOT NULL,
    grants      BIGINT NOT NULL,
    reported_at BIGINT NOT NULL,
    PRIMARY KEY (license_id, day)
);
