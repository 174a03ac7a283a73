-- Borrowed seats whose revocation (a lost laptop) this server confirmed for a license's pool:
-- listed in the license signed for the pool and for the laptop until the borrow ends, so the
-- pool frees the seat at once and the laptop drops it. Times are Unix seconds.
CREATE TABLE borrow_revocations (
    license_id     TEXT NOT NULL,
    session_id     TEXT NOT NULL,
    borrowed_until BIGINT NOT NULL,
    confirmed_at   BIGINT NOT NULL,
    PRIMARY KEY (license_id, session_id)
);
