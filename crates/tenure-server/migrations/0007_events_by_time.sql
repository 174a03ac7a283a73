-- Usage events are written many times a second and read by time (the daily roll-up): one index
-- on the time, where each batch of inserts lands at the right edge, instead of one per license
-- and time, where a batch dirtied a page per license. A license's history is read from
-- usage_daily once rolled up, and from a scan of the recent events before that.
DROP INDEX usage_events_license_at;
CREATE INDEX usage_events_at ON usage_events(at);
