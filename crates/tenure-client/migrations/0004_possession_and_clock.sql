-- The activation credential's private half lives with the license, so every workstation on this
-- database can prove it holds the license, and a restored database carries it along.
ALTER TABLE tenure_license ADD COLUMN holder_secret TEXT;

-- One copy of the clock's high-water mark (the others: the cache and the keyring). `seen` is
-- the latest clock reading, `reset` the server time of the verified answer that last set it,
-- both in Unix milliseconds (UTC).
CREATE TABLE tenure_clock (
    slot   TEXT PRIMARY KEY,
    seen   BIGINT NOT NULL,
    reset  BIGINT NOT NULL
);
