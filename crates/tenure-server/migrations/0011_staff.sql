-- The vendor's staff who sign in to the web console, and their console sessions. Passwords are
-- argon2id hashes (PHC strings); a session is known by the SHA-256 of its cookie's token, so a
-- copy of this table signs no one in. Kept in the database so any instance behind the balancer
-- serves a session another started. Times are Unix seconds.
CREATE TABLE staff (
    name          TEXT PRIMARY KEY,
    role          TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    disabled      BIGINT NOT NULL DEFAULT 0
);
CREATE TABLE console_sessions (
    token_sha256 TEXT PRIMARY KEY,
    staff        TEXT NOT NULL,
    csrf         TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL
);
-- The console pages through licenses newest first.
CREATE INDEX licenses_by_created ON licenses(created_at, id);
-- What the console's search looks in, lower-cased: the license's id, account and customer (the
-- customer is otherwise only inside terms_ron, far longer to scan). Filled for older licenses
-- when a server opens the database.
ALTER TABLE licenses ADD COLUMN search_text TEXT;
-- Empty once filled: a server opening the database finds in an instant that none is left.
CREATE INDEX licenses_unsearchable ON licenses(id) WHERE search_text IS NULL;
