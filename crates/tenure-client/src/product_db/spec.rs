//! How a product database is named: `sqlite:PATH`, a plain file path, or `postgres://…`.

use std::fmt;
use std::path::{Path, PathBuf};

use super::DbError;

/// A product database connection.
#[derive(Clone, PartialEq, Eq)]
pub enum DbSpec {
    /// A SQLite file (created on first use).
    Sqlite(PathBuf),
    /// A PostgreSQL URL.
    Postgres(String),
}

impl DbSpec {
    /// Parses `sqlite:PATH`, `sqlite://PATH`, `postgres://…`, `postgresql://…` or a file path.
    pub fn parse(text: &str) -> Result<Self, DbError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(DbError::BadSpec(
                "connection is empty: give a file path or a postgres:// URL".into(),
            ));
        }
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            return Ok(DbSpec::Postgres(text.to_owned()));
        }
        if let Some(path) = text
            .strip_prefix("sqlite://")
            .or_else(|| text.strip_prefix("sqlite:"))
        {
            let path = path.split('?').next().unwrap_or(path);
            if path.is_empty() {
                return Err(DbError::BadSpec(
                    "sqlite: needs a file path, e.g. sqlite:/data/prod.db".into(),
                ));
            }
            return Ok(DbSpec::Sqlite(PathBuf::from(path)));
        }
        if text.contains("://") {
            return Err(DbError::BadSpec(format!(
                "kind is not supported: {}: use a SQLite file path or a postgres:// URL",
                text.split("://").next().unwrap_or_default()
            )));
        }
        Ok(DbSpec::Sqlite(PathBuf::from(text)))
    }

    /// The default: `product.db` in the profile's data folder.
    pub fn default_in(data_dir: &Path) -> Self {
        DbSpec::Sqlite(data_dir.join("product.db"))
    }

    /// The sqlx URL.
    pub(super) fn url(&self) -> String {
        match self {
            DbSpec::Sqlite(path) => format!("sqlite://{}?mode=rwc", path.display()),
            DbSpec::Postgres(url) => url.clone(),
        }
    }

    /// The text to save in settings (may hold a password for PostgreSQL URLs; settings never
    /// print it, see [`fmt::Display`]).
    pub fn to_setting(&self) -> String {
        match self {
            DbSpec::Sqlite(path) => format!("sqlite:{}", path.display()),
            DbSpec::Postgres(url) => url.clone(),
        }
    }
}

impl fmt::Display for DbSpec {
    /// For people: the password, if any, is hidden.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DbSpec::Sqlite(path) => write!(f, "SQLite file {}", path.display()),
            DbSpec::Postgres(url) => {
                let shown = match (url.find("://"), url.rfind('@')) {
                    (Some(scheme_end), Some(at)) if at > scheme_end => {
                        let userinfo = &url[scheme_end + 3..at];
                        let user = userinfo.split(':').next().unwrap_or_default();
                        format!("{}{user}@{}", &url[..scheme_end + 3], &url[at + 1..])
                    }
                    _ => url.clone(),
                };
                write!(f, "PostgreSQL {shown}")
            }
        }
    }
}

impl fmt::Debug for DbSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_forms() {
        assert_eq!(
            DbSpec::parse("sqlite:/data/prod.db").unwrap(),
            DbSpec::Sqlite("/data/prod.db".into())
        );
        assert_eq!(
            DbSpec::parse("/data/prod.db").unwrap(),
            DbSpec::Sqlite("/data/prod.db".into())
        );
        assert!(matches!(
            DbSpec::parse("postgres://u:p@h/db").unwrap(),
            DbSpec::Postgres(_)
        ));
        assert!(DbSpec::parse("mysql://h/db").is_err());
        assert!(DbSpec::parse("  ").is_err());
    }

    #[test]
    fn never_shows_the_password() {
        let spec = DbSpec::parse("postgres://ana:s3cret@db1:5433/prod").unwrap();
        let shown = spec.to_string();
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(shown.contains("ana@db1:5433/prod"), "{shown}");
    }
}
