-- A move an admin forgave ("reset moves" in the console) stays in the history but no longer
-- counts against the license's moves per 30 days. Unix seconds; NULL while it counts.
ALTER TABLE rebinds ADD COLUMN forgiven_at BIGINT;
