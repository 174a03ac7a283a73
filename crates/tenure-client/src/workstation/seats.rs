//! Named-user seats on the workstation: the directory of the connected product database, saves
//! checked against the version they started from, trimming to the license, and the product's
//! `authorize(user)`.

use chrono::{DateTime, Utc};
use tenure_core::directory::{Actor, Change, Directory, SeatLimit};
use tenure_core::{QuantityKind, SeatKind, VerifiedLicense};

use super::{EngineError, Workstation, os_user};
use crate::authorize::{Authorization, Grant, Reason};
use crate::product_db::{DbError, ProductDb, SaveError, Saved, SeatCount};

/// Why a named-seat request could not be answered. A refusal to seat a user is not an error:
/// it is an [`Authorization`].
#[derive(Debug, thiserror::Error)]
pub enum NamedSeatsError {
    /// Users and seats live in the product database, which is not connected.
    #[error("no product database is connected: users and seats live there")]
    NoDatabase,
    /// A change to users or seats was not saved (someone saved first, or the license refuses).
    #[error("{0}")]
    Save(#[from] SaveError),
    /// The product database failed.
    #[error("{0}")]
    Db(#[from] DbError),
    /// The license on this workstation could not be read.
    #[error(transparent)]
    Workstation(#[from] EngineError),
}

/// Automatic saves (trimming, automatic seats) retry this often when another save wins a race.
const AUTOMATIC_SAVE_TRIES: usize = 3;

/// The named seats `license` grants, or why none can be given.
fn seat_limit_of(license: Option<&VerifiedLicense>) -> SeatLimit {
    match license {
        Some(license) if license.terms.kind == SeatKind::Named => {
            SeatLimit::Named(license.terms.seats)
        }
        Some(_) => {
            SeatLimit::Unavailable("the license counts concurrent seats, not named users".into())
        }
        None => SeatLimit::Unavailable("no license is activated on this workstation".into()),
    }
}

impl Workstation {
    /// Who is making changes from here: the OS user on this machine.
    pub(crate) fn actor(&self) -> Actor {
        Actor {
            login: os_user(),
            host: self.local_host.clone(),
        }
    }

    fn require_db(&self) -> Result<&ProductDb, NamedSeatsError> {
        self.db.as_ref().ok_or(NamedSeatsError::NoDatabase)
    }

    /// The churn caps the cached license signs (none without one).
    pub(crate) fn churn(&self) -> tenure_core::Churn {
        self.license()
            .ok()
            .flatten()
            .map(|license| license.terms.churn)
            .unwrap_or_default()
    }

    /// The named seats the cached license grants, or why none can be given.
    pub(crate) fn seat_limit(&self) -> SeatLimit {
        match self.license() {
            Ok(license) => seat_limit_of(license.as_ref()),
            Err(e) => SeatLimit::Unavailable(format!("the license cannot be read ({e})")),
        }
    }
}

/// Named-user seats: the user directory of the connected product database, saves checked
/// against the version they started from, and [`NamedSeats::authorize`], which the product asks
/// when a user starts work. A view of the [`Workstation`] (`workstation.named_seats()`).
#[derive(Clone, Copy)]
pub struct NamedSeats<'w> {
    ws: &'w Workstation,
}

impl std::ops::Deref for NamedSeats<'_> {
    type Target = Workstation;

    fn deref(&self) -> &Workstation {
        self.ws
    }
}

impl Workstation {
    /// Named-user seats in the connected product database.
    pub fn named_seats(&self) -> NamedSeats<'_> {
        NamedSeats { ws: self }
    }
}

impl NamedSeats<'_> {
    /// The named seats the cached license grants, or why none can be given.
    pub fn seat_limit(self) -> SeatLimit {
        self.ws.seat_limit()
    }

    /// Who acts from here: the OS user on this machine (the audit log names them).
    pub fn actor(self) -> Actor {
        self.ws.actor()
    }

    /// Removes seats beyond the license (after a renewal with fewer seats, or a hand-edited
    /// table). Returns the save when something was trimmed.
    pub async fn trim_to_license(
        self,
        now: DateTime<Utc>,
    ) -> Result<Option<Saved>, NamedSeatsError> {
        self.trim_when_over(now, None).await
    }

    /// [`Self::trim_to_license`], given the seats counted a moment ago when they were (at
    /// connect, with the first rows read): counted again only to trim.
    pub(crate) async fn trim_when_over(
        self,
        now: DateTime<Utc>,
        counted: Option<u64>,
    ) -> Result<Option<Saved>, NamedSeatsError> {
        let Some(db) = &self.db else { return Ok(None) };
        let limit = self.seat_limit();
        // One count, not the whole directory: this runs at every connect and stored license.
        let SeatLimit::Named(seats) = limit else {
            return Ok(None);
        };
        let held = match counted {
            Some(held) => held,
            None => db.seats_held().await?,
        };
        if held <= u64::from(seats) {
            return Ok(None);
        }
        let saved = db
            .save_directory(None, &[], &limit, self.churn(), &self.actor(), now)
            .await?;
        for login in saved
            .effects
            .iter()
            .filter_map(tenure_core::directory::Effect::login)
        {
            tracing::info!(
                user = login,
                "named seat trimmed to the license's seat count"
            );
        }
        Ok(Some(saved))
    }

    /// The users, seats and policy of the connected product database.
    pub async fn users(self) -> Result<Directory, NamedSeatsError> {
        Ok(self.require_db()?.load_directory().await?)
    }

    /// Saves changes made on top of version `expected`; refused if someone saved since.
    pub async fn save_users(
        self,
        expected: i64,
        changes: &[Change],
        now: DateTime<Utc>,
    ) -> Result<Saved, NamedSeatsError> {
        let db = self.require_db()?;
        Ok(db
            .save_directory(
                Some(expected),
                changes,
                &self.seat_limit(),
                self.churn(),
                &self.actor(),
                now,
            )
            .await?)
    }

    /// Applies changes to whatever version is current (for commands that do not show the
    /// directory first, such as `tenure users assign`).
    pub async fn change_users(
        self,
        changes: &[Change],
        now: DateTime<Utc>,
    ) -> Result<Saved, NamedSeatsError> {
        let db = self.require_db()?;
        Ok(db
            .save_directory(
                None,
                changes,
                &self.seat_limit(),
                self.churn(),
                &self.actor(),
                now,
            )
            .await?)
    }

    /// Seats in use over time.
    pub async fn seat_counts(
        self,
        since: DateTime<Utc>,
    ) -> Result<Vec<SeatCount>, NamedSeatsError> {
        match &self.db {
            Some(db) => Ok(db.seat_counts(since).await?),
            None => Ok(Vec::new()),
        }
    }

    /// May `login` work now? A grant, or a refusal that reads as a sentence. Errors are for
    /// when the question cannot be answered (no database, the database down).
    pub async fn authorize(
        self,
        login: &str,
        now: DateTime<Utc>,
    ) -> Result<Authorization, NamedSeatsError> {
        let report = self.report(now)?;
        if let Some(reason) = Reason::from_status(&report.status) {
            return Ok(Authorization::refused(login, reason));
        }
        let grace_days_left = report.status.grace().map_or(0, |g| g.days_left);
        // The report has just read and verified the license: use it, not a second read.
        let seats = match seat_limit_of(report.license.as_ref()) {
            SeatLimit::Named(seats) => seats,
            SeatLimit::Unavailable(_) => {
                return Ok(Authorization::refused(login, Reason::NotNamedLicense));
            }
        };
        let db = self.require_db()?;
        let granted = |auto_assigned| {
            Authorization::Granted(Grant {
                login: login.to_owned(),
                auto_assigned,
                grace_days_left,
            })
        };
        let check = db.seat_check(login).await?;
        if let Some(check) = &check {
            if check.disabled {
                return Ok(Authorization::refused(login, Reason::Disabled));
            }
            if let Some((_, rank)) = check.seat {
                if rank >= u64::from(seats) {
                    return Ok(Authorization::refused(login, Reason::BeyondLimit { seats }));
                }
                let quantity = named_quantity_of(report.license.as_ref());
                if let Some(refusal) =
                    group_refusal(db, login, check.seat, &quantity, seats).await?
                {
                    return Ok(Authorization::refused(login, refusal));
                }
                if !check.authorized_before {
                    db.mark_first_authorized(login, now).await?;
                }
                return Ok(granted(false));
            }
        }
        let first_time = check.as_ref().is_none_or(|c| !c.authorized_before);
        let policy = db.load_directory_policy().await?;
        if first_time && policy.auto_assign && self.auto_assign(db, login, seats, now).await? {
            db.mark_first_authorized(login, now).await?;
            return Ok(granted(true));
        }
        match check {
            None => Ok(Authorization::refused(login, Reason::UnknownUser)),
            Some(check) => {
                db.mark_first_authorized(login, now).await?;
                Ok(Authorization::refused(
                    login,
                    Reason::NoSeat {
                        in_use: check.in_use,
                        seats,
                    },
                ))
            }
        }
    }

    /// Of `logins`, those holding a seat their group's share cannot honour (the latest assigned
    /// in a group go first), each with the refusal they would get at sign-in: what the Users
    /// screen says right after a tick, rather than leaving it to the user's first start.
    pub async fn beyond_group_share(
        self,
        logins: &[&str],
    ) -> Result<Vec<(String, Reason)>, NamedSeatsError> {
        // One read of the license for every login: each read decrypts and verifies it.
        let license = self.license().ok().flatten();
        let (SeatLimit::Named(seats), Some(first)) =
            (seat_limit_of(license.as_ref()), logins.first())
        else {
            return Ok(Vec::new());
        };
        let quantity = named_quantity_of(license.as_ref());
        let db = self.require_db()?;
        // Without shares of the named seats no seat is beyond one: one look, not one per login
        // (a CSV import may give hundreds of seats at once).
        if db.share_for(first, &quantity, seats).await?.is_none() {
            return Ok(Vec::new());
        }
        let mut beyond = Vec::new();
        for login in logins {
            let seat = db.seat_check(login).await?.and_then(|c| c.seat);
            if let Some(reason) = group_refusal(db, login, seat, &quantity, seats).await? {
                beyond.push(((*login).to_owned(), reason));
            }
        }
        Ok(beyond)
    }

    /// Gives `login` a seat under the automatic-seat policy (adding the user if unknown). True
    /// when the seat stands after trimming, i.e. one was free.
    async fn auto_assign(
        self,
        db: &ProductDb,
        login: &str,
        seats: u32,
        now: DateTime<Utc>,
    ) -> Result<bool, NamedSeatsError> {
        let actor = Actor {
            login: format!("{} (automatic seat)", os_user()),
            host: self.local_host.clone(),
        };
        for _ in 0..AUTOMATIC_SAVE_TRIES {
            let directory = db.load_directory().await?;
            if directory.seats_in_use() >= usize::try_from(seats).unwrap_or(usize::MAX) {
                return Ok(false);
            }
            let mut changes = Vec::new();
            if !directory.users.contains_key(login) {
                changes.push(Change::Add {
                    login: login.to_owned(),
                    name: String::new(),
                    email: String::new(),
                });
            }
            changes.push(Change::Assign {
                login: login.to_owned(),
            });
            match db
                .save_directory(
                    Some(directory.version.number),
                    &changes,
                    &SeatLimit::Named(seats),
                    self.churn(),
                    &actor,
                    now,
                )
                .await
            {
                Ok(saved) => {
                    return Ok(saved
                        .directory
                        .users
                        .get(login)
                        .is_some_and(|u| u.seat.is_some()));
                }
                Err(SaveError::Conflict(_)) => {}
                // A churn cap (a cool-down, reassignments used up) refuses the automatic seat
                // as a full pool does: the product hears a refusal, not an error.
                Err(SaveError::Refused(_) | SaveError::Churn(_)) => return Ok(false),
                Err(e) => return Err(e.into()),
            }
        }
        Ok(false)
    }
}

/// The license's named-seat quantity ("users" unless the terms name another).
fn named_quantity_of(license: Option<&VerifiedLicense>) -> String {
    license
        .and_then(|l| l.terms.first_of_kind(QuantityKind::Named))
        .map_or_else(|| "users".to_owned(), |q| q.name)
}

/// When the named seats (`quantity`) are split among groups: the refusal for a seat beyond its
/// group's share (the latest assigned in the group go first), if it is.
async fn group_refusal(
    db: &ProductDb,
    login: &str,
    seat: Option<(DateTime<Utc>, u64)>,
    quantity: &str,
    seats: u32,
) -> Result<Option<Reason>, NamedSeatsError> {
    let Some((assigned_at, _)) = seat else {
        return Ok(None);
    };
    let Some(share) = db.share_for(login, quantity, seats).await? else {
        return Ok(None);
    };
    let (ahead, in_use) = db.seat_rank_in_share(login, assigned_at, &share).await?;
    Ok(
        (ahead >= u64::from(share.size)).then_some(Reason::GroupFull {
            group: share.label,
            in_use,
            seats: share.size,
        }),
    )
}
