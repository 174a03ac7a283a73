-- Named seats: the directory's version (checked by every save, so two admins never overwrite
-- each other), the seat policy, when each user was first authorised, and seats in use over time.

CREATE TABLE tenure_directory (
    slot             TEXT PRIMARY KEY,
    version          BIGINT NOT NULL,
    changed_by       TEXT NOT NULL,
    changed_host     TEXT NOT NULL,
    changed_at       BIGINT NOT NULL,
    auto_assign      BIGINT NOT NULL DEFAULT 0,
    free_on_disable  BIGINT NOT NULL DEFAULT 0
);
INSERT INTO tenure_directory (slot, version, changed_by, changed_host, changed_at)
    VALUES ('users', 0, '', '', 0);

ALTER TABLE tenure_users ADD COLUMN first_authorized_at BIGINT;

-- The trimming rule orders seats by (assigned_at, login); so does authorisation's rank query.
CREATE INDEX tenure_seats_order ON tenure_seats(assigned_at, login);

CREATE TABLE tenure_seat_counts (
    at          BIGINT NOT NULL,
    in_use      BIGINT NOT NULL,
    seat_limit  BIGINT NOT NULL
);
CREATE INDEX tenure_seat_counts_at ON tenure_seat_counts(at);
