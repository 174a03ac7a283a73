-- The activation credentials a license had before the account activated it again: a
-- validation proved by one of them is answered with a signed notice that the license moved,
-- instead of a refusal that says nothing. Newest first, `HOLDERHEX@UNIXSECS` separated by
-- spaces, at most eight.
ALTER TABLE licenses ADD COLUMN former_holders TEXT;
