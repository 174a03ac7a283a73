-- Users waiting for a concurrent seat. The next seat freed goes to the head of the line of the
-- part of the pool it belongs to (share_key: '' for an undivided pool), ordered by the group's
-- priority (higher first), then by place (first come, first served). A waiter that stops asking
-- (seen_at too old) leaves the line. A row grants nothing by itself: every grant is still
-- counted against the signed seats, under the pool lock.
CREATE TABLE tenure_queue (
    id         TEXT PRIMARY KEY,
    login      TEXT NOT NULL,
    machine    TEXT NOT NULL,
    share_key  TEXT NOT NULL,
    priority   BIGINT NOT NULL,
    place      BIGINT NOT NULL,
    joined_at  BIGINT NOT NULL,
    seen_at    BIGINT NOT NULL,
    UNIQUE (login, machine)
);
CREATE INDEX tenure_queue_order ON tenure_queue(share_key, priority, place);

-- A group's rank in the line: its waiters go ahead of those of groups with a lower one.
ALTER TABLE tenure_groups ADD COLUMN priority BIGINT NOT NULL DEFAULT 0;
