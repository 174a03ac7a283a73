-- License keys are stored as a keyed hash (HMAC-SHA256 with a secret outside the database, in
-- the key_digits column as "hmac:<hex>"), so the database alone does not give the keys away.
-- The last four digits are kept to tell licenses apart in lists.
ALTER TABLE licenses ADD COLUMN key_last4 TEXT;

-- Settings every instance on this database must agree on (the key-hash secret's fingerprint).
CREATE TABLE server_settings (
    name   TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);
