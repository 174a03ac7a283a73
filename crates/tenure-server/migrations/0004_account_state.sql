-- A disabled account's token is refused everywhere; its licenses stay as they are.
ALTER TABLE accounts ADD COLUMN disabled BIGINT NOT NULL DEFAULT 0;
