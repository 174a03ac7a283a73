//! The vendor's staff, who sign in to the web console: added from the command line with a
//! role, passwords hashed with argon2id, sign-in slowed per name, sessions kept in the database
//! (any instance behind the balancer serves them) and known there only by their token's hash.

use std::num::NonZeroU32;
use std::sync::Arc;

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use chrono::Duration;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use tenure_core::protocol::limits;

use super::{Denial, Vendor, check_text, random_token, token_sha256};

/// How long a console session lasts from sign-in.
pub const SESSION_HOURS: i64 = 12;
/// The shortest password a member of staff may have.
pub const MIN_PASSWORD_CHARS: usize = 12;
/// Sign-in attempts per name per minute: a guesser is slowed to this.
const SIGN_INS_PER_MINUTE: u32 = 5;
/// Names the per-name limit keeps before it forgets those not tried lately.
const MAX_NAMES_REMEMBERED: usize = 10_000;

/// What a member of staff may do in the console.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Everything: create, revoke, reset.
    Admin,
    /// Reads, and answers offline requests.
    Support,
}

impl Role {
    /// `admin` or `support`, as stored and typed.
    pub fn word(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Support => "support",
        }
    }
}

impl std::str::FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "admin" => Ok(Role::Admin),
            "support" => Ok(Role::Support),
            other => Err(format!("a role is admin or support, not {other:?}")),
        }
    }
}

/// A signed-in member of staff, as each console request finds them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffSession {
    /// Their name, for the audit log.
    pub name: String,
    /// What they may do.
    pub role: Role,
    /// The token every form of this session carries (CSRF).
    pub csrf: String,
}

/// A sign-in that worked: the cookie's token (shown to the browser only) and the session.
#[derive(Debug, Clone)]
pub struct SignedIn {
    /// The session token: the cookie's value.
    pub token: String,
    /// The session.
    pub session: StaffSession,
}

/// Sign-in attempts per name, shared by every request of this instance.
pub(super) fn sign_in_limiter() -> Arc<DefaultKeyedRateLimiter<String>> {
    let per_minute = NonZeroU32::new(SIGN_INS_PER_MINUTE).unwrap_or(NonZeroU32::MIN);
    Arc::new(RateLimiter::keyed(Quota::per_minute(per_minute)))
}

/// The staff operations of a [`Vendor`] (`vendor.staff()`).
pub struct Staff<'v> {
    pub(super) vendor: &'v Vendor,
}

impl Staff<'_> {
    /// Adds a member of staff with `role` and `password`.
    pub async fn add(&self, name: &str, role: Role, password: &str) -> Result<(), Denial> {
        check_text("staff name", name, limits::ACCOUNT_NAME_CHARS)?;
        let hash = new_password_hash(password).await?;
        let vendor = self.vendor;
        if !vendor
            .store
            .insert_staff(name, role.word(), &hash, vendor.now())
            .await?
        {
            return Err(Denial::Conflict {
                code: "staff_exists",
                message: format!("a member of staff named {name:?} exists already"),
            });
        }
        vendor
            .record(None, "staff", "added", &format!("{name} ({})", role.word()))
            .await;
        Ok(())
    }

    /// Signs `name` in with `password`: a new session. A wrong name and a wrong password get
    /// the same answer after the same work; more than a few tries a minute per name are
    /// refused before any is checked.
    pub async fn sign_in(&self, name: &str, password: &str) -> Result<SignedIn, Denial> {
        let vendor = self.vendor;
        let wrong = || Denial::Unauthorized("the name or password is wrong".into());
        if check_text("staff name", name, limits::ACCOUNT_NAME_CHARS).is_err() {
            return Err(wrong());
        }
        if let Err(slowed) = slow_down(vendor, name) {
            vendor.record(None, "staff", "sign_in_slowed", name).await;
            return Err(slowed);
        }
        let stored = vendor.store.staff(name).await?;
        let enabled = stored.as_ref().filter(|s| !s.disabled);
        let holds = password_matches(password, enabled.map(|s| s.password_hash.as_str())).await;
        let Some(staff) = stored.filter(|s| holds && !s.disabled) else {
            vendor.record(None, "staff", "sign_in_refused", name).await;
            return Err(wrong());
        };
        let role: Role = staff
            .role
            .parse()
            .map_err(|e: String| Denial::Internal(e))?;
        let token = random_token("tcs_");
        let csrf = random_token("");
        let now = vendor.now();
        vendor
            .store
            .insert_console_session(
                &token_sha256(&token),
                &staff.name,
                &csrf,
                now,
                now + Duration::hours(SESSION_HOURS),
            )
            .await?;
        vendor.record(None, "staff", "signed_in", &staff.name).await;
        Ok(SignedIn {
            token,
            session: StaffSession {
                name: staff.name,
                role,
                csrf,
            },
        })
    }

    /// The session a cookie's token names, if it is current.
    pub async fn session(&self, token: &str) -> Result<Option<StaffSession>, Denial> {
        let vendor = self.vendor;
        let Some(row) = vendor
            .store
            .console_session(&token_sha256(token), vendor.now())
            .await?
        else {
            return Ok(None);
        };
        Ok(row.staff.role.parse().ok().map(|role| StaffSession {
            name: row.staff.name,
            role,
            csrf: row.csrf,
        }))
    }

    /// Ends the session a cookie's token names.
    pub async fn sign_out(&self, token: &str) -> Result<(), Denial> {
        let vendor = self.vendor;
        vendor
            .store
            .delete_console_session(&token_sha256(token), vendor.now())
            .await?;
        Ok(())
    }
}

/// Refuses a sign-in when `name` (a member of staff, or a portal user as `account/user`) was
/// tried more than a few times this minute, before any password is checked.
pub(super) fn slow_down(vendor: &super::Vendor, name: &str) -> Result<(), Denial> {
    // Names not tried lately are forgotten, so names made up by a stranger cannot grow the
    // table without bound.
    if vendor.sign_ins.len() > MAX_NAMES_REMEMBERED {
        vendor.sign_ins.retain_recent();
    }
    vendor.sign_ins.check_key(&name.to_owned()).map_err(|_| {
        Denial::TooMany(
            "too many sign-in attempts for this name: wait a minute and try again".into(),
        )
    })
}

/// Whether `password` matches `stored` (an argon2 hash; `None` for a name that does not exist
/// or may not sign in, which costs the same work, so the time taken tells nothing).
pub(super) async fn password_matches(password: &str, stored: Option<&str>) -> bool {
    if let Some(hash) = stored {
        verify_password(password.to_owned(), hash.to_owned()).await
    } else {
        let _ = hash_password(password.to_owned()).await;
        false
    }
}

/// A new password long enough, hashed.
pub(super) async fn new_password_hash(password: &str) -> Result<String, Denial> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(Denial::Invalid(format!(
            "a password has at least {MIN_PASSWORD_CHARS} characters"
        )));
    }
    hash_password(password.to_owned()).await
}

/// argon2id with its default cost, off the async workers (it takes tens of milliseconds).
async fn hash_password(password: String) -> Result<String, Denial> {
    tokio::task::spawn_blocking(move || {
        let mut salt = [0u8; 16];
        getrandom::fill(&mut salt).map_err(|e| Denial::Internal(e.to_string()))?;
        let salt = SaltString::encode_b64(&salt).map_err(|e| Denial::Internal(e.to_string()))?;
        argon2::Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(|e| Denial::Internal(e.to_string()))
    })
    .await
    .map_err(|e| Denial::Internal(e.to_string()))?
}

async fn verify_password(password: String, hash: String) -> bool {
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash).is_ok_and(|parsed| {
            argon2::Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
    })
    .await
    .unwrap_or(false)
}
