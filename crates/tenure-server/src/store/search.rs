//! The console's license search: a page of the licenses whose id, account or customer holds
//! the query, newest first, and how many match.
//!
//! Three paths, each bounded so a page stays quick over 100,000 licenses:
//! - On SQLite, a query of three characters or more is looked up in the trigram index
//!   (`license_search`, migration 16). When it matches few licenses, they are read by id.
//! - A query that matches many is read in creation order from the narrow index that holds the
//!   search text, which finds a page's worth within a few hundred entries.
//! - Anything else (PostgreSQL, a query of one or two characters) scans that narrow index
//!   once, in creation order, for the first matches' ids up to the cap: their count and the
//!   page's ids both come from that one pass.
//!
//! Matches are counted up to [`SEARCH_COUNT_CAP`]; beyond it the page says "more than".

use sqlx::Row as _;
use sqlx::any::AnyRow;

use super::rows::{LicenseRow, license_select};
use super::{Engine, Store, StoreError};

/// Matches are counted up to this many; more are shown as "more than".
pub const SEARCH_COUNT_CAP: u64 = 1_000;

/// One page of a search.
#[derive(Debug, Clone, PartialEq)]
pub struct Searched {
    /// The licenses on the page, newest first.
    pub licenses: Vec<LicenseRow>,
    /// How many match in all, up to [`SEARCH_COUNT_CAP`].
    pub total: u64,
    /// More than [`SEARCH_COUNT_CAP`] match: `total` is that cap.
    pub more: bool,
    /// A page follows this one.
    pub older: bool,
}

const PAGE_OF_ALL: &str = license_select!("ORDER BY created_at DESC, id DESC LIMIT $1 OFFSET $2");

/// A page of the licenses whose search text holds `$1`, read in creation order from the
/// narrow index, then their rows by id. `$contains` is the engine's substring test (SQLite's
/// `instr`, PostgreSQL's `strpos`), far faster than `LIKE '%…%'`.
macro_rules! page_scanned {
    ($contains:literal) => {
        license_select!(concat!(
            "WHERE id IN (SELECT id FROM licenses WHERE ",
            $contains,
            "(search_text, $1) > 0 ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3) \
             ORDER BY created_at DESC, id DESC"
        ))
    };
}

/// The ids of the first `$2` licenses whose search text holds `$1`, newest first: one pass
/// over the narrow index both counts (up to the cap) and finds a page.
macro_rules! ids_scanned {
    ($contains:literal) => {
        concat!(
            "SELECT id FROM licenses WHERE ",
            $contains,
            "(search_text, $1) > 0 ORDER BY created_at DESC, id DESC LIMIT $2"
        )
    };
}

/// The licenses whose ids the JSON array `$1` lists, newest first.
const BY_IDS_SQLITE: &str = license_select!(
    "WHERE id IN (SELECT value FROM json_each($1)) ORDER BY created_at DESC, id DESC"
);
const BY_IDS_POSTGRES: &str = license_select!(
    "WHERE id IN (SELECT json_array_elements_text($1::json)) ORDER BY created_at DESC, id DESC"
);

/// How many licenses the trigram index matches for the phrase `$1`, counted up to `$2`.
const COUNT_INDEXED: &str = "SELECT COUNT(*) FROM (SELECT 1 FROM license_search \
     WHERE license_search MATCH $1 LIMIT $2) AS found";

/// A page of the licenses the trigram index matches for the phrase `$1`.
const PAGE_INDEXED: &str = license_select!(
    "WHERE id IN (SELECT id FROM license_search WHERE license_search MATCH $1) \
     ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3"
);

/// The shortest query the trigram index answers.
const TRIGRAM: usize = 3;

impl Store {
    /// One page of at most `limit` licenses whose id, account or customer contains `query`
    /// (all when it is empty), newest first, from `offset`, and how many match.
    pub async fn search_licenses(
        &self,
        query: &str,
        limit: u32,
        offset: u64,
    ) -> Result<Searched, StoreError> {
        // One more than the page, to learn whether a page follows.
        let fetch = i64::from(limit) + 1;
        let offset = i64::try_from(offset).unwrap_or(i64::MAX);
        if query.is_empty() {
            let total: i64 = sqlx::query("SELECT COUNT(*) FROM licenses")
                .fetch_one(&self.pool)
                .await?
                .try_get(0)?;
            let rows = sqlx::query(PAGE_OF_ALL)
                .bind(fetch)
                .bind(offset)
                .fetch_all(&self.pool)
                .await?;
            let total = u64::try_from(total).unwrap_or(0);
            return page(&rows, limit, total, false);
        }
        // Lower-cased, as the search text is.
        let needle = query.to_lowercase();
        let cap = i64::try_from(SEARCH_COUNT_CAP).unwrap_or(i64::MAX) + 1;
        let scan_page = match self.engine {
            Engine::Sqlite => page_scanned!("instr"),
            Engine::Postgres => page_scanned!("strpos"),
        };
        if self.engine == Engine::Sqlite && needle.chars().count() >= TRIGRAM {
            let phrase = format!("\"{}\"", needle.replace('"', "\"\""));
            let count = self.count(COUNT_INDEXED, &phrase, cap).await?;
            if count <= SEARCH_COUNT_CAP {
                let rows = self.rows(PAGE_INDEXED, &phrase, fetch, offset).await?;
                return page(&rows, limit, count, false);
            }
            // Many match: the scan in creation order finds a page's worth early.
            let rows = self.rows(scan_page, &needle, fetch, offset).await?;
            return page(&rows, limit, SEARCH_COUNT_CAP, true);
        }
        let ids_sql = match self.engine {
            Engine::Sqlite => ids_scanned!("instr"),
            Engine::Postgres => ids_scanned!("strpos"),
        };
        let ids: Vec<String> = sqlx::query(ids_sql)
            .bind(&needle)
            .bind(cap)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|row| row.try_get::<String, _>(0))
            .collect::<Result<_, _>>()?;
        let more = ids.len() as u64 > SEARCH_COUNT_CAP;
        let start = usize::try_from(offset).unwrap_or(usize::MAX).min(ids.len());
        let end = start.saturating_add(usize::try_from(fetch).unwrap_or(usize::MAX));
        let rows = if end <= ids.len() || !more {
            let listed = serde_json::to_string(&ids[start..end.min(ids.len())])
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            let by_ids = match self.engine {
                Engine::Sqlite => BY_IDS_SQLITE,
                Engine::Postgres => BY_IDS_POSTGRES,
            };
            sqlx::query(by_ids)
                .bind(listed)
                .fetch_all(&self.pool)
                .await?
        } else {
            // A page past the ids gathered: read in creation order.
            self.rows(scan_page, &needle, fetch, offset).await?
        };
        let total = (ids.len() as u64).min(SEARCH_COUNT_CAP);
        page(&rows, limit, total, more)
    }

    /// The rows a page statement (`$1` matched, `$2` rows from `$3`) gives.
    async fn rows(
        &self,
        sql: &'static str,
        matched: &str,
        fetch: i64,
        offset: i64,
    ) -> Result<Vec<AnyRow>, StoreError> {
        Ok(sqlx::query(sql)
            .bind(matched)
            .bind(fetch)
            .bind(offset)
            .fetch_all(&self.pool)
            .await?)
    }

    async fn count(&self, sql: &'static str, needle: &str, cap: i64) -> Result<u64, StoreError> {
        let count: i64 = sqlx::query(sql)
            .bind(needle)
            .bind(cap)
            .fetch_one(&self.pool)
            .await?
            .try_get(0)?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    /// Fills the search text of licenses stored before it was kept (migration 0011), a
    /// thousand at a time. Returns how many were filled.
    pub(crate) async fn fill_search_text(&self) -> Result<usize, StoreError> {
        let mut filled = 0;
        loop {
            let rows = sqlx::query(
                "SELECT id, account, terms_ron FROM licenses WHERE search_text IS NULL LIMIT 1000",
            )
            .fetch_all(&self.pool)
            .await?;
            if rows.is_empty() {
                return Ok(filled);
            }
            let mut tx = self.pool.begin().await?;
            for row in &rows {
                let id: String = row.try_get("id")?;
                let account: String = row.try_get("account")?;
                let terms: String = row.try_get("terms_ron")?;
                // A license whose terms cannot be read is still found by its id and account.
                let customer = ron::from_str::<tenure_core::LicenseTerms>(&terms)
                    .map(|t| t.customer)
                    .unwrap_or_default();
                sqlx::query("UPDATE licenses SET search_text = $1 WHERE id = $2")
                    .bind(search_text(&id, &account, &customer))
                    .bind(&id)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            filled += rows.len();
        }
    }
}

/// A page of rows fetched one past `limit`: the page, and whether one follows.
fn page(rows: &[AnyRow], limit: u32, total: u64, more: bool) -> Result<Searched, StoreError> {
    let shown = rows.len().min(limit as usize);
    let licenses = rows[..shown]
        .iter()
        .map(LicenseRow::from_row)
        .collect::<Result<_, _>>()?;
    Ok(Searched {
        licenses,
        total,
        more,
        older: rows.len() > shown,
    })
}

/// What the console's search looks in: id, account and customer, lower-cased.
pub(super) fn search_text(id: &str, account: &str, customer: &str) -> String {
    format!("{id} {account} {customer}").to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    /// A license stored before the search text was kept is found once a server has opened
    /// the database; its customer's name is searched without regard to case.
    #[tokio::test]
    async fn older_licenses_are_given_their_search_text() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open_sqlite_dir(dir.path()).await.expect("store");
        let now = Utc::now();
        store
            .insert_account("acme", "hash", now)
            .await
            .expect("account");
        let terms = crate::sandbox::sample_terms("Nordsee Offshore");
        assert!(
            store
                .insert_license("lic_old", "hmac:1", "0001", "acme", &terms, now)
                .await
                .expect("license")
        );
        sqlx::query("UPDATE licenses SET search_text = NULL")
            .execute(&store.pool)
            .await
            .expect("as an older server left it");
        let none = store
            .search_licenses("nordsee", 50, 0)
            .await
            .expect("search");
        assert_eq!(none.total, 0);
        assert_eq!(store.fill_search_text().await.expect("fill"), 1);
        let found = store
            .search_licenses("NORDSEE", 50, 0)
            .await
            .expect("search");
        assert_eq!((found.licenses[0].id.as_str(), found.total), ("lic_old", 1));
        assert_eq!(store.fill_search_text().await.expect("fill"), 0);
    }

    /// 1,100 licenses: every path (trigram index, narrow scan, short query) finds what a plain
    /// substring test finds, counts up to the cap, pages, and follows a renamed customer.
    #[tokio::test]
    async fn every_path_finds_what_a_substring_test_finds() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open_sqlite_dir(dir.path()).await.expect("store");
        let now = Utc::now();
        store
            .insert_account("acme", "hash", now)
            .await
            .expect("account");
        let terms = crate::sandbox::sample_terms("Said \"Hi\" Ltd");
        store
            .insert_license("lic_0", "hmac:0", "0000", "acme", &terms, now)
            .await
            .expect("license");
        sqlx::query(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1100) \
             INSERT INTO licenses (id, key_digits, account, terms_ron, created_at, search_text) \
             SELECT 'lic_' || i, 'hmac:' || i, 'acme', l.terms_ron, i, \
             'lic_' || i || ' acme customer ' || i FROM n, licenses AS l WHERE l.id = 'lic_0'",
        )
        .execute(&store.pool)
        .await
        .expect("1,100 more");
        let texts: Vec<String> = (1..=1100)
            .map(|i| format!("lic_{i} acme customer {i}"))
            .collect();
        for query in ["customer 1099", "Customer 10", "99", "7", "lic_5", "nobody"] {
            let needle = query.to_lowercase();
            let expected = texts.iter().filter(|t| t.contains(&needle)).count() as u64;
            let found = store.search_licenses(query, 50, 0).await.expect("search");
            assert_eq!((found.total, found.more), (expected, false), "{query}");
            assert_eq!(found.licenses.len() as u64, expected.min(50), "{query}");
            assert_eq!(found.older, expected > 50, "{query}");
            let newest_first = found
                .licenses
                .windows(2)
                .all(|w| w[0].created_at >= w[1].created_at);
            assert!(newest_first, "{query}");
        }
        let many = store
            .search_licenses("customer", 50, 1000)
            .await
            .expect("search");
        assert_eq!((many.total, many.more), (SEARCH_COUNT_CAP, true));
        assert_eq!((many.licenses.len(), many.older), (50, true));
        assert_eq!(many.licenses[0].id, "lic_100", "page 21, newest first");
        // One character, 1,101 matches: past the ids gathered, pages are read in order.
        for (offset, older) in [(950, true), (1000, true), (1051, false)] {
            let short = store
                .search_licenses("c", 50, offset)
                .await
                .expect("search");
            assert_eq!((short.total, short.more), (SEARCH_COUNT_CAP, true));
            assert_eq!((short.licenses.len(), short.older), (50, older), "{offset}");
            // lic_0 is the newest, then lic_1100 down.
            let newest = format!("lic_{}", 1101 - offset);
            assert_eq!(short.licenses[0].id, newest, "{offset}");
        }
        let quoted = store
            .search_licenses("\"hi\"", 50, 0)
            .await
            .expect("quotes");
        assert_eq!(quoted.total, 1, "a quote is searched as text");

        // A renamed customer: the index follows the table, whoever writes it.
        sqlx::query("UPDATE licenses SET search_text = 'lic_7 acme renamed' WHERE id = 'lic_7'")
            .execute(&store.pool)
            .await
            .expect("rename");
        assert_eq!(
            store
                .search_licenses("renamed", 50, 0)
                .await
                .expect("search")
                .total,
            1
        );
        let seven = store
            .search_licenses("customer 7", 50, 0)
            .await
            .expect("search");
        assert_eq!(
            seven.total, 110,
            "customer 7, 70–79, 700–799 without 7 itself"
        );
    }
}
