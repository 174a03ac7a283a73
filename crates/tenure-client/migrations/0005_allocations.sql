-- Allocations: an admin splits each counted quantity of the license among groups (roles, sites,
-- tenants; a role or site may lie inside a tenant). Every save first moves the 'allocations'
-- version row on, so two admins never overwrite each other. A device takes its type's quantity
-- when it first connects; each registration first bumps tenure_pool's 'devices' row, so they
-- pass one at a time, as checkouts do.

INSERT INTO tenure_directory (slot, version, changed_by, changed_host, changed_at)
    VALUES ('allocations', 0, '', '', 0);
INSERT INTO tenure_pool (slot, generation) VALUES ('devices', 0);

CREATE TABLE tenure_groups (
    name        TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    tenant      TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL
);

-- One group per user: the group whose share the user's seats come from.
CREATE TABLE tenure_group_members (
    login       TEXT PRIMARY KEY,
    group_name  TEXT NOT NULL,
    added_at    BIGINT NOT NULL
);

-- share: a count, or -1 for "all remaining".
CREATE TABLE tenure_allocations (
    quantity      TEXT NOT NULL,
    group_name    TEXT NOT NULL,
    share         BIGINT NOT NULL,
    allocated_at  BIGINT NOT NULL,
    PRIMARY KEY (quantity, group_name)
);

-- licensed_at is NULL for a device assigned while it was away: it takes its license at first
-- contact. removed_at ends the device's claim.
CREATE TABLE tenure_devices (
    id            TEXT PRIMARY KEY,
    device_type   TEXT NOT NULL,
    group_name    TEXT NOT NULL DEFAULT '',
    assigned_at   BIGINT NOT NULL,
    licensed_at   BIGINT,
    last_contact  BIGINT,
    removed_at    BIGINT
);
-- Holders of a type in the order they took their licenses: a registration counts those ahead.
CREATE INDEX tenure_devices_holders ON tenure_devices(device_type, licensed_at, id)
    WHERE removed_at IS NULL AND licensed_at IS NOT NULL;

-- The administrative connection: when no connection seat is free, one admin session may still
-- be taken (for backup and configuration); it holds no seat of the pool.
ALTER TABLE tenure_sessions ADD COLUMN admin BIGINT NOT NULL DEFAULT 0;

-- Stacked licenses: more of a quantity bought later, each with its own dates, activated for this
-- database beside the license in tenure_license. Kept as the server signed them; each counts
-- while it is valid, bound here and within its own grace.
CREATE TABLE tenure_stacked (
    license_id     TEXT PRIMARY KEY,
    armored        TEXT NOT NULL,
    holder_secret  TEXT NOT NULL,
    validated_at   BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL
);

-- Each pool's size when last seen, so a pool that shrank (a stacked license ended, a renewal
-- counts less) has its cut shares written to the audit log once, by name.
CREATE TABLE tenure_pool_sizes (
    quantity  TEXT PRIMARY KEY,
    size      BIGINT NOT NULL
);
