//! Row types and the SELECTs that produce them.

use chrono::{DateTime, Utc};
use sqlx::Row as _;
use sqlx::any::AnyRow;
use tenure_core::{Binding, LicenseTerms};

use super::{StoreError, to_time};

/// `SELECT` of a license row, then `$tail` (its `WHERE` and order).
macro_rules! license_select {
    ($tail:expr) => {
        concat!(
            "SELECT id, key_digits, account, terms_ron, revoked, bound_server, bound_database, \
             activated_at, last_validated_at, grace_extended_until, created_at, holder_key, \
             key_last4, former_holders FROM licenses ",
            $tail
        )
    };
}

pub(super) use license_select;

pub(super) const SELECT_LICENSE_BY_KEY: &str = license_select!("WHERE key_digits = $1");
pub(super) const SELECT_LICENSE_BY_ID: &str = license_select!("WHERE id = $1");
pub(super) const SELECT_LICENSES_BY_ACCOUNT: &str =
    license_select!("WHERE account = $1 ORDER BY created_at, id");
pub(super) const SELECT_ALL_LICENSES: &str = license_select!("ORDER BY created_at, id");
pub(super) const SELECT_GRACE_CANDIDATES: &str =
    license_select!("WHERE revoked = 0 AND bound_server IS NOT NULL AND last_validated_at >= $1");
/// A license as stored on the server.
#[derive(Debug, Clone, PartialEq)]
pub struct LicenseRow {
    /// Server-side id.
    pub id: String,
    /// The key's last four digits (the key itself is stored only as a keyed hash).
    pub key_last4: Option<String>,
    /// Owning account.
    pub account: String,
    /// What was sold.
    pub terms: LicenseTerms,
    /// Revoked licenses are refused.
    pub revoked: bool,
    /// Where it is bound, once activated.
    pub binding: Option<Binding>,
    /// First activation.
    pub activated_at: Option<DateTime<Utc>>,
    /// Last successful validation.
    pub last_validated_at: Option<DateTime<Utc>>,
    /// An extension in force until this time.
    pub grace_extended_until: Option<DateTime<Utc>>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// The public half of the holder's activation credential (hex), once activated.
    pub holder_key: Option<String>,
    /// Credentials the account replaced by activating the license again, newest first, with
    /// when each was replaced (at most eight).
    pub former_holders: Vec<FormerHolder>,
    /// Borrowed seats (session ids) whose revocation this server confirmed and whose borrow
    /// has not ended. Not a column: filled where a validation asks about borrows
    /// (`Vendor::validate`), empty in every other row.
    pub revoked_borrows: Vec<String>,
}

/// An activation credential a license no longer accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormerHolder {
    /// Its public half, hex.
    pub key: String,
    /// When the account replaced it.
    pub replaced_at: DateTime<Utc>,
}

/// Reads `HOLDERHEX@UNIXSECS …`; an entry cut short by the length limit is skipped.
fn parse_former_holders(text: Option<&str>) -> Vec<FormerHolder> {
    text.unwrap_or_default()
        .split_whitespace()
        .filter_map(|entry| {
            let (key, at) = entry.split_once('@')?;
            let secs = at.parse::<i64>().ok()?;
            (key.len() == 64).then(|| FormerHolder {
                key: key.to_owned(),
                replaced_at: to_time(secs),
            })
        })
        .collect()
}

impl LicenseRow {
    pub(super) fn from_row(row: &AnyRow) -> Result<Self, StoreError> {
        let terms_ron: String = row.try_get("terms_ron")?;
        let terms = ron::from_str(&terms_ron).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let server: Option<String> = row.try_get("bound_server")?;
        let database: Option<String> = row.try_get("bound_database")?;
        let opt_time = |name: &str| -> Result<Option<DateTime<Utc>>, StoreError> {
            Ok(row.try_get::<Option<i64>, _>(name)?.map(to_time))
        };
        Ok(Self {
            id: row.try_get("id")?,
            key_last4: row.try_get("key_last4")?,
            account: row.try_get("account")?,
            terms,
            revoked: row.try_get::<i64, _>("revoked")? != 0,
            binding: server
                .zip(database)
                .map(|(server, database)| Binding { server, database }),
            activated_at: opt_time("activated_at")?,
            last_validated_at: opt_time("last_validated_at")?,
            grace_extended_until: opt_time("grace_extended_until")?,
            created_at: to_time(row.try_get("created_at")?),
            holder_key: row.try_get("holder_key")?,
            former_holders: parse_former_holders(
                row.try_get::<Option<String>, _>("former_holders")?
                    .as_deref(),
            ),
            revoked_borrows: Vec::new(),
        })
    }
}

/// One move of a license from one binding to another.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RebindRow {
    /// The license moved.
    pub license_id: String,
    /// Where it was.
    pub old: Binding,
    /// Where it is now.
    pub new: Binding,
    /// Why, as given.
    pub reason: String,
    /// When.
    pub at: DateTime<Utc>,
    /// A new holder credential registered with the move (a re-activation elsewhere).
    #[serde(skip)]
    pub holder: Option<String>,
}

impl RebindRow {
    pub(super) fn from_row(row: &AnyRow) -> Result<Self, StoreError> {
        Ok(Self {
            license_id: row.try_get("license_id")?,
            old: Binding {
                server: row.try_get("old_server")?,
                database: row.try_get("old_database")?,
            },
            new: Binding {
                server: row.try_get("new_server")?,
                database: row.try_get("new_database")?,
            },
            reason: row.try_get("reason")?,
            at: to_time(row.try_get("at")?),
            holder: None,
        })
    }
}
