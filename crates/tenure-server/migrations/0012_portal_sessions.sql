-- Customers' sessions in the self-service portal, signed in with their account's token. Known by
-- the SHA-256 of the cookie's token (a copy of this table signs no one in), and tied to the hash
-- of the account token they were started with: rotating or disabling the account ends them all.
-- Times are Unix seconds.
CREATE TABLE portal_sessions (
    token_sha256         TEXT PRIMARY KEY,
    account              TEXT NOT NULL,
    account_token_sha256 TEXT NOT NULL,
    csrf                 TEXT NOT NULL,
    created_at           BIGINT NOT NULL,
    expires_at           BIGINT NOT NULL
);
