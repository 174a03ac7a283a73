-- A customer account's own users of the portal: the account (signed in with its token) creates
-- them, each signs in with the account's name, its own name and an argon2id-hashed password.
-- A session started by a user names them: removing the user, or setting a new password, ends
-- it; rotating the account's token or disabling the account ends every session, users' too.
CREATE TABLE portal_users (
    account       TEXT NOT NULL REFERENCES accounts(name),
    name          TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    PRIMARY KEY (account, name)
);
ALTER TABLE portal_sessions ADD COLUMN user_name TEXT;
