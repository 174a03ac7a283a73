-- The console's search over many licenses. The page's scan in creation order reads a narrow
-- index that holds the search text, never the wide rows with their terms; it replaces the
-- index on (created_at, id), which it starts with.
DROP INDEX licenses_by_created;
CREATE INDEX licenses_by_created_search ON licenses(created_at, id, search_text);

-- SQLite only: a trigram index of the search text, so a search of three or more characters
-- finds its licenses without reading every one. It keeps the license's id (not SQLite's rowid,
-- which VACUUM may renumber) and is kept in step by triggers, whoever writes the table.
CREATE VIRTUAL TABLE license_search USING fts5(id UNINDEXED, search_text, tokenize = 'trigram');
INSERT INTO license_search (id, search_text)
    SELECT id, search_text FROM licenses WHERE search_text IS NOT NULL;
CREATE TRIGGER license_search_insert AFTER INSERT ON licenses
    WHEN new.search_text IS NOT NULL
BEGIN
    INSERT INTO license_search (id, search_text) VALUES (new.id, new.search_text);
END;
-- Rare (an older license given its text, a customer renamed): the old entry is found by a scan.
CREATE TRIGGER license_search_update AFTER UPDATE OF search_text ON licenses
BEGIN
    DELETE FROM license_search WHERE old.search_text IS NOT NULL AND id = old.id;
    INSERT INTO license_search (id, search_text)
        SELECT new.id, new.search_text WHERE new.search_text IS NOT NULL;
END;
CREATE TRIGGER license_search_delete AFTER DELETE ON licenses
BEGIN
    DELETE FROM license_search WHERE id = old.id;
END;
