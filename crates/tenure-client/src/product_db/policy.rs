//! How a concurrent pool's seats float on this database: the vendor's signed minimums (linger,
//! idle release) and the longer ones the customer may set here (`tenure_floating_policy`).
//!
//! The row is the customer's and the licensee can edit it at will, so only ever the longer of
//! the two is used: a row lowered by hand frees no seat sooner than the vendor signed.

use chrono::Duration;
use sqlx::Row as _;
use tenure_core::Floating;

use super::{DbError, ProductDb};

/// The floating policy in force on a database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FloatingPolicy {
    /// What the vendor signed: the minimums.
    pub signed: Floating,
    /// What the customer set here (0: nothing of its own).
    pub local_linger_mins: u32,
    /// What the customer set here (0: nothing of its own).
    pub local_idle_timeout_mins: u32,
}

impl FloatingPolicy {
    /// Minutes a seat checked in stays its user's: the longer of the two.
    pub fn linger_mins(&self) -> u32 {
        self.signed.linger_mins.max(self.local_linger_mins)
    }

    /// Minutes a seat reported idle stays held, `None` where the vendor signed no idle release
    /// (then the customer's is not used either: it would stretch the count).
    pub fn idle_timeout_mins(&self) -> Option<u32> {
        (self.signed.idle_timeout_mins > 0).then(|| {
            self.signed
                .idle_timeout_mins
                .max(self.local_idle_timeout_mins)
        })
    }

    /// Checks a change the customer asks for: `None` keeps a value, `Some(0)` drops the
    /// customer's own. The sentence says what is allowed.
    pub fn changed(
        &self,
        linger_mins: Option<u32>,
        idle_timeout_mins: Option<u32>,
    ) -> Result<Self, String> {
        let mut next = *self;
        if let Some(mins) = linger_mins {
            if mins != 0 && mins < self.signed.linger_mins {
                return Err(format!(
                    "the license sets a linger of {} minutes, and a shorter one cannot be set here; give {} or more (0 keeps the license's)",
                    self.signed.linger_mins, self.signed.linger_mins
                ));
            }
            next.local_linger_mins = mins;
        }
        if let Some(mins) = idle_timeout_mins {
            if mins != 0 && self.signed.idle_timeout_mins == 0 {
                return Err(
                    "this license does not free idle seats, so no idle timeout can be set here; ask your vendor for one"
                        .into(),
                );
            }
            if mins != 0 && mins < self.signed.idle_timeout_mins {
                return Err(format!(
                    "the license frees a seat after {} idle minutes, and a shorter time cannot be set here; give {} or more (0 keeps the license's)",
                    self.signed.idle_timeout_mins, self.signed.idle_timeout_mins
                ));
            }
            next.local_idle_timeout_mins = mins;
        }
        Ok(next)
    }
}

/// The customer's minutes as stored (zeros when none are).
pub(super) async fn local_minutes(
    conn: &mut sqlx::AnyConnection,
) -> Result<(u32, u32), sqlx::Error> {
    let row = sqlx::query(
        "SELECT linger_mins, idle_timeout_mins FROM tenure_floating_policy WHERE slot = 'pool'",
    )
    .fetch_optional(conn)
    .await?;
    // A value edited out of range counts as none of the customer's own.
    let minutes = |value: i64| u32::try_from(value).unwrap_or(0);
    Ok(match row {
        Some(row) => (minutes(row.try_get(0)?), minutes(row.try_get(1)?)),
        None => (0, 0),
    })
}

/// The idle time after which a session reported idle is freed, `None` for never.
pub(super) async fn idle_timeout(
    conn: &mut sqlx::AnyConnection,
    signed_mins: u32,
) -> Result<Option<Duration>, sqlx::Error> {
    if signed_mins == 0 {
        return Ok(None);
    }
    let (_, local) = local_minutes(conn).await?;
    Ok(Some(Duration::minutes(i64::from(signed_mins.max(local)))))
}

impl ProductDb {
    /// The floating policy in force under `signed`.
    pub(crate) async fn floating_policy(
        &self,
        signed: Floating,
    ) -> Result<FloatingPolicy, DbError> {
        let mut conn = self.pool.acquire().await?;
        let (local_linger_mins, local_idle_timeout_mins) = local_minutes(&mut conn).await?;
        Ok(FloatingPolicy {
            signed,
            local_linger_mins,
            local_idle_timeout_mins,
        })
    }

    /// Stores the customer's own minutes.
    pub(crate) async fn save_floating_policy(
        &self,
        policy: &FloatingPolicy,
    ) -> Result<(), DbError> {
        sqlx::query(
            "INSERT INTO tenure_floating_policy (slot, linger_mins, idle_timeout_mins) \
             VALUES ('pool', $1, $2) ON CONFLICT (slot) DO UPDATE SET \
             linger_mins = excluded.linger_mins, idle_timeout_mins = excluded.idle_timeout_mins",
        )
        .bind(i64::from(policy.local_linger_mins))
        .bind(i64::from(policy.local_idle_timeout_mins))
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
