-- Signed documents every workstation on this database must know, so a fresh profile (or a
-- workstation that never saw them) learns them on connecting: the vendor root's newest
-- revocation list ('revocations', numbered by the root: a copy is only ever replaced by a
-- higher number) and the server's notice that the license moved ('moved').
CREATE TABLE tenure_trust (
    name      TEXT PRIMARY KEY,
    serial    BIGINT NOT NULL,
    document  TEXT NOT NULL
);
