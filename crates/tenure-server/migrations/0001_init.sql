-- Portable across SQLite and PostgreSQL: TEXT and BIGINT only; times are Unix seconds (UTC).
CREATE TABLE accounts (
    name          TEXT PRIMARY KEY,
    token_sha256  TEXT NOT NULL,
    created_at    BIGINT NOT NULL
);

CREATE TABLE licenses (
    id                TEXT PRIMARY KEY,
    key_digits        TEXT NOT NULL UNIQUE,
    account           TEXT NOT NULL REFERENCES accounts(name),
    terms_ron         TEXT NOT NULL,
    revoked           BIGINT NOT NULL DEFAULT 0,
    bound_server      TEXT,
    bound_database    TEXT,
    activated_at      BIGINT,
    last_validated_at BIGINT,
    grace_extended_until BIGINT,
    created_at        BIGINT NOT NULL
);
CREATE INDEX licenses_account ON licenses(account);

CREATE TABLE rebinds (
    id             TEXT PRIMARY KEY,
    license_id     TEXT NOT NULL REFERENCES licenses(id),
    old_server     TEXT NOT NULL,
    old_database   TEXT NOT NULL,
    new_server     TEXT NOT NULL,
    new_database   TEXT NOT NULL,
    reason         TEXT NOT NULL,
    at             BIGINT NOT NULL
);
CREATE INDEX rebinds_license_at ON rebinds(license_id, at);

-- Usage log: every activation, validation, extension and refusal.
CREATE TABLE usage_events (
    id          TEXT PRIMARY KEY,
    license_id  TEXT,
    kind        TEXT NOT NULL,
    outcome     TEXT NOT NULL,
    detail      TEXT NOT NULL,
    at          BIGINT NOT NULL
);
CREATE INDEX usage_events_license_at ON usage_events(license_id, at);
