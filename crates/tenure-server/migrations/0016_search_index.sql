-- The console's search over many licenses. The page's scan in creation order reads a narrow
-- index that holds the search text, never the wide rows with their terms; it replaces the
-- index on (created_at, id), which it starts with.
DROP INDEX licenses_by_created;
CREATE INDEX licenses_by_created_search ON licenses(created_at, id, search_text);
