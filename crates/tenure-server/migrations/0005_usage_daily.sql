-- Usage events older than the server keeps (--keep-events-days) are rolled up here: one row per
-- license, day, kind and outcome. license_id is '' for events about no license.
CREATE TABLE usage_daily (
    license_id  TEXT NOT NULL,
    day         BIGINT NOT NULL,
    kind        TEXT NOT NULL,
    outcome     TEXT NOT NULL,
    count       BIGINT NOT NULL,
    PRIMARY KEY (license_id, day, kind, outcome)
);
