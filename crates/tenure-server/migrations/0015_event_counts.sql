-- How many requests one usage row stands for: 1 for an activation or a validation; the number
-- of refusals for a refusal row, which counts a minute's refusals of one license, kind and
-- reason. The daily roll-up and the console's usage chart add these up instead of counting rows.
ALTER TABLE usage_events ADD COLUMN count BIGINT NOT NULL DEFAULT 1;
