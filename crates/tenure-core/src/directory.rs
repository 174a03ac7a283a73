//! The user directory of one product database: users, their named seats, the seat policy, and
//! the version every save is checked against.
//!
//! [`Directory::apply`] is the only way a directory changes: it checks each [`Change`], applies
//! it, then trims the seats to the license's count by the rule in [`crate::seats::trim`]. The
//! database layer loads a directory, applies the changes and writes the difference; the window
//! applies the same function to preview an edit, so what the admin sees is what gets saved.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::seats::{Assignment, trim};

/// Longest login accepted.
pub const MAX_LOGIN_LEN: usize = 64;
/// Longest name or e-mail address accepted.
pub const MAX_TEXT_LEN: usize = 200;

/// Who makes a change: the OS user and the machine, as shown in conflicts and the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    /// The OS user.
    pub login: String,
    /// The machine's name.
    pub host: String,
}

/// A named seat held by a user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seat {
    /// When it was given; the earliest keep their seats when there are too many.
    pub assigned_at: DateTime<Utc>,
    /// Who gave it (OS user).
    pub assigned_by: String,
}

/// One user of the product.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// The login the product knows the user by; unique.
    pub login: String,
    /// Display name.
    pub name: String,
    /// E-mail address (may be empty).
    pub email: String,
    /// A disabled user is never authorised.
    pub disabled: bool,
    /// When the user was added.
    pub created_at: DateTime<Utc>,
    /// The named seat, if the user holds one.
    pub seat: Option<Seat>,
}

/// Per-database choices about seats; both off by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SeatPolicy {
    /// Give a free seat to a user the first time the product asks to authorise them.
    pub auto_assign: bool,
    /// Free a user's seat when the user is disabled (a removed user's seat is always freed).
    pub free_on_disable: bool,
}

/// The version of a directory and who made it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Version {
    /// Goes up by one with every save.
    pub number: i64,
    /// Who saved it.
    pub by: String,
    /// On which machine.
    pub host: String,
    /// When.
    pub at: DateTime<Utc>,
}

/// Users, seats and policy at one version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Directory {
    /// The version this state is.
    pub version: Version,
    /// The seat policy.
    pub policy: SeatPolicy,
    /// Users by login.
    pub users: BTreeMap<String, User>,
}

/// One edit an admin (or an import, or the product) asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Change {
    /// A new user.
    Add {
        /// Login.
        login: String,
        /// Display name (the login when empty).
        name: String,
        /// E-mail address.
        email: String,
    },
    /// New name and e-mail for an existing user.
    Edit {
        /// Login.
        login: String,
        /// Display name.
        name: String,
        /// E-mail address.
        email: String,
    },
    /// Disable or enable a user.
    SetDisabled {
        /// Login.
        login: String,
        /// True to disable.
        disabled: bool,
    },
    /// Remove a user (and free their seat).
    Remove {
        /// Login.
        login: String,
    },
    /// Give a named seat (nothing if the user has one).
    Assign {
        /// Login.
        login: String,
    },
    /// Take a named seat back (nothing if the user has none).
    Unassign {
        /// Login.
        login: String,
    },
    /// Change the seat policy.
    SetPolicy(SeatPolicy),
}

impl Change {
    /// The user the change is about, if any.
    pub fn login(&self) -> Option<&str> {
        match self {
            Change::Add { login, .. }
            | Change::Edit { login, .. }
            | Change::SetDisabled { login, .. }
            | Change::Remove { login }
            | Change::Assign { login }
            | Change::Unassign { login } => Some(login),
            Change::SetPolicy(_) => None,
        }
    }
}

/// What a save did, for the audit log and the notices.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Effect {
    /// A user was added.
    Added(String),
    /// A user's name or e-mail changed.
    Edited(String),
    /// A user was disabled.
    Disabled(String),
    /// A user was enabled.
    Enabled(String),
    /// A user was removed.
    Removed(String),
    /// A seat was given.
    Assigned(String),
    /// A seat was taken back (by the admin, or because the user was disabled or removed).
    Unassigned {
        /// Whose.
        login: String,
        /// Why, in words ("unticked", "user disabled", "user removed").
        why: &'static str,
    },
    /// A seat was removed because more users held one than the license grants.
    Trimmed {
        /// Whose.
        login: String,
        /// The license's named seats.
        seats: u32,
    },
    /// The policy changed.
    PolicyChanged(SeatPolicy),
}

impl Effect {
    /// The audit log's kind for this effect.
    pub fn event_kind(&self) -> &'static str {
        match self {
            Effect::Added(_) => "user added",
            Effect::Edited(_) => "user edited",
            Effect::Disabled(_) => "user disabled",
            Effect::Enabled(_) => "user enabled",
            Effect::Removed(_) => "user removed",
            Effect::Assigned(_) => "seat assigned",
            Effect::Unassigned { .. } => "seat unassigned",
            Effect::Trimmed { .. } => "seat trimmed",
            Effect::PolicyChanged(_) => "seat policy",
        }
    }

    /// The user it is about, if any.
    pub fn login(&self) -> Option<&str> {
        match self {
            Effect::Added(l)
            | Effect::Edited(l)
            | Effect::Disabled(l)
            | Effect::Enabled(l)
            | Effect::Removed(l)
            | Effect::Assigned(l)
            | Effect::Unassigned { login: l, .. }
            | Effect::Trimmed { login: l, .. } => Some(l),
            Effect::PolicyChanged(_) => None,
        }
    }
}

impl fmt::Display for Effect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Effect::Added(l) => write!(f, "{l} was added"),
            Effect::Edited(l) => write!(f, "{l}'s details were changed"),
            Effect::Disabled(l) => write!(f, "{l} was disabled"),
            Effect::Enabled(l) => write!(f, "{l} was enabled"),
            Effect::Removed(l) => write!(f, "{l} was removed"),
            Effect::Assigned(l) => write!(f, "{l} was given a named seat"),
            Effect::Unassigned { login, why } => {
                write!(f, "{login}'s named seat was freed ({why})")
            }
            Effect::Trimmed { login, seats } => write!(
                f,
                "{login} lost the named seat: the license grants {seats} named {}, and the \
                 earliest assigned keep theirs",
                if *seats == 1 { "seat" } else { "seats" }
            ),
            Effect::PolicyChanged(p) => write!(
                f,
                "seat policy: automatic seats {}, free the seat of a disabled user {}",
                on_off(p.auto_assign),
                on_off(p.free_on_disable)
            ),
        }
    }
}

fn on_off(on: bool) -> &'static str {
    if on { "on" } else { "off" }
}

/// Why a change was refused. Nothing of the batch it was in is applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChangeError {
    /// The login is empty, too long or has spaces or control characters.
    #[error(
        "{0:?} is not a usable login: use 1 to {MAX_LOGIN_LEN} characters with no spaces or control characters"
    )]
    BadLogin(String),
    /// A name or e-mail address that cannot be stored.
    #[error("{field} of {login} is not usable: {why}")]
    BadField {
        /// Whose.
        login: String,
        /// "the name" or "the e-mail address".
        field: &'static str,
        /// What is wrong.
        why: &'static str,
    },
    /// Adding a login that exists.
    #[error("a user with the login {0} already exists")]
    Exists(String),
    /// A change about a login that does not exist.
    #[error("there is no user with the login {0}")]
    Unknown(String),
    /// Giving a seat to a disabled user.
    #[error("{0} is disabled: enable the user before giving a seat")]
    DisabledUser(String),
    /// Seats cannot be given: no license, or not a named-user license.
    #[error("named seats cannot be given: {0}")]
    NoNamedSeats(String),
}

/// The license's named seats as far as a save is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SeatLimit {
    /// A named-user license with this many seats.
    Named(u32),
    /// No seats can be given, and why (no license, a concurrent license). Existing seats are
    /// left alone: trimming on a missing license would wipe every assignment.
    Unavailable(String),
}

/// A directory after changes, and what they did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// The new state (its version is not yet bumped; the store does that).
    pub directory: Directory,
    /// What happened, in order: the changes' effects, then any trimming.
    pub effects: Vec<Effect>,
}

impl Applied {
    /// The users who lost a seat to trimming.
    pub fn trimmed(&self) -> impl Iterator<Item = &str> {
        trimmed(&self.effects)
    }
}

/// The users who lost a seat to trimming among `effects`, in order.
pub fn trimmed(effects: &[Effect]) -> impl Iterator<Item = &str> {
    effects.iter().filter_map(|e| match e {
        Effect::Trimmed { login, .. } => Some(login.as_str()),
        _ => None,
    })
}

/// The users given a seat among `effects`, in order.
pub fn assigned(effects: &[Effect]) -> impl Iterator<Item = &str> {
    effects.iter().filter_map(|e| match e {
        Effect::Assigned(login) => Some(login.as_str()),
        _ => None,
    })
}

/// Checks a login.
pub fn check_login(login: &str) -> Result<(), ChangeError> {
    let usable = !login.is_empty()
        && login.chars().count() <= MAX_LOGIN_LEN
        && !login.chars().any(|c| c.is_whitespace() || c.is_control());
    if usable {
        Ok(())
    } else {
        Err(ChangeError::BadLogin(login.to_owned()))
    }
}

/// Checks a name and e-mail address (an empty address is allowed).
pub fn check_details(login: &str, name: &str, email: &str) -> Result<(), ChangeError> {
    let bad = |field, why| ChangeError::BadField {
        login: login.to_owned(),
        field,
        why,
    };
    if name.chars().count() > MAX_TEXT_LEN || email.chars().count() > MAX_TEXT_LEN {
        return Err(bad("a detail", "longer than 200 characters"));
    }
    if name.chars().any(char::is_control) {
        return Err(bad("the name", "it contains control characters"));
    }
    if !email.is_empty() {
        let plausible = email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && !domain.is_empty() && !domain.contains('@')
        }) && !email.chars().any(|c| c.is_whitespace() || c.is_control());
        if !plausible {
            return Err(bad(
                "the e-mail address",
                "it does not look like name@example.com",
            ));
        }
    }
    Ok(())
}

impl Directory {
    /// An empty directory at version 0.
    pub fn empty() -> Self {
        Self {
            version: Version {
                number: 0,
                by: String::new(),
                host: String::new(),
                at: DateTime::UNIX_EPOCH,
            },
            policy: SeatPolicy::default(),
            users: BTreeMap::new(),
        }
    }

    /// Users holding a seat.
    pub fn seats_in_use(&self) -> usize {
        self.users.values().filter(|u| u.seat.is_some()).count()
    }

    /// The seats that stand under `limit`, by the trimming rule: a hand-edited table never
    /// grants more than the license. Returns the logins that hold a seat in the table but not by
    /// the rule.
    pub fn over_limit(&self, limit: &SeatLimit) -> Vec<String> {
        let SeatLimit::Named(seats) = limit else {
            return Vec::new();
        };
        trim(&self.assignments(), *seats)
            .removed
            .into_iter()
            .map(|a| a.user_id)
            .collect()
    }

    fn assignments(&self) -> Vec<Assignment> {
        self.users
            .values()
            .filter_map(|u| {
                u.seat.as_ref().map(|s| Assignment {
                    user_id: u.login.clone(),
                    assigned_at: s.assigned_at,
                })
            })
            .collect()
    }

    /// Applies `changes` in order, then trims the seats to `limit`. All or nothing: the first
    /// refused change refuses the batch.
    pub fn apply(
        &self,
        changes: &[Change],
        limit: &SeatLimit,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Applied, ChangeError> {
        let mut next = self.clone();
        let mut effects = Vec::new();
        for change in changes {
            next.apply_one(change, limit, actor, now, &mut effects)?;
        }
        if let SeatLimit::Named(seats) = limit {
            for removed in trim(&next.assignments(), *seats).removed {
                if let Some(user) = next.users.get_mut(&removed.user_id) {
                    user.seat = None;
                }
                effects.push(Effect::Trimmed {
                    login: removed.user_id,
                    seats: *seats,
                });
            }
        }
        // A seat given and trimmed in the same batch was never really given.
        let lost: Vec<String> = trimmed(&effects).map(str::to_owned).collect();
        effects.retain(|e| !matches!(e, Effect::Assigned(l) if lost.contains(l)));
        Ok(Applied {
            directory: next,
            effects,
        })
    }

    fn user_mut(&mut self, login: &str) -> Result<&mut User, ChangeError> {
        self.users
            .get_mut(login)
            .ok_or_else(|| ChangeError::Unknown(login.to_owned()))
    }

    fn add_user(
        &mut self,
        login: &str,
        name: &str,
        email: &str,
        now: DateTime<Utc>,
    ) -> Result<(), ChangeError> {
        check_login(login)?;
        check_details(login, name, email)?;
        if self.users.contains_key(login) {
            return Err(ChangeError::Exists(login.to_owned()));
        }
        let name = if name.trim().is_empty() {
            login.to_owned()
        } else {
            name.trim().to_owned()
        };
        self.users.insert(
            login.to_owned(),
            User {
                login: login.to_owned(),
                name,
                email: email.trim().to_owned(),
                disabled: false,
                created_at: now,
                seat: None,
            },
        );
        Ok(())
    }

    fn apply_one(
        &mut self,
        change: &Change,
        limit: &SeatLimit,
        actor: &Actor,
        now: DateTime<Utc>,
        effects: &mut Vec<Effect>,
    ) -> Result<(), ChangeError> {
        match change {
            Change::Add { login, name, email } => {
                self.add_user(login, name, email, now)?;
                effects.push(Effect::Added(login.clone()));
            }
            Change::Edit { login, name, email } => {
                check_details(login, name, email)?;
                let user = self.user_mut(login)?;
                let name = if name.trim().is_empty() {
                    login.clone()
                } else {
                    name.trim().to_owned()
                };
                if user.name != name || user.email != email.trim() {
                    user.name = name;
                    email.trim().clone_into(&mut user.email);
                    effects.push(Effect::Edited(login.clone()));
                }
            }
            Change::SetDisabled { login, disabled } => {
                let free_on_disable = self.policy.free_on_disable;
                let user = self.user_mut(login)?;
                if user.disabled != *disabled {
                    user.disabled = *disabled;
                    effects.push(if *disabled {
                        Effect::Disabled(login.clone())
                    } else {
                        Effect::Enabled(login.clone())
                    });
                }
                if *disabled && free_on_disable && user.seat.take().is_some() {
                    effects.push(Effect::Unassigned {
                        login: login.clone(),
                        why: "user disabled",
                    });
                }
            }
            Change::Remove { login } => {
                let user = self
                    .users
                    .remove(login)
                    .ok_or_else(|| ChangeError::Unknown(login.clone()))?;
                if user.seat.is_some() {
                    effects.push(Effect::Unassigned {
                        login: login.clone(),
                        why: "user removed",
                    });
                }
                effects.push(Effect::Removed(login.clone()));
            }
            Change::Assign { login } => {
                if let SeatLimit::Unavailable(why) = limit {
                    return Err(ChangeError::NoNamedSeats(why.clone()));
                }
                let user = self.user_mut(login)?;
                if user.disabled {
                    return Err(ChangeError::DisabledUser(login.clone()));
                }
                if user.seat.is_none() {
                    user.seat = Some(Seat {
                        assigned_at: now,
                        assigned_by: actor.login.clone(),
                    });
                    effects.push(Effect::Assigned(login.clone()));
                }
            }
            Change::Unassign { login } => {
                if self.user_mut(login)?.seat.take().is_some() {
                    effects.push(Effect::Unassigned {
                        login: login.clone(),
                        why: "unticked",
                    });
                }
            }
            Change::SetPolicy(policy) => {
                if self.policy != *policy {
                    self.policy = *policy;
                    effects.push(Effect::PolicyChanged(*policy));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(secs, 0).unwrap_or_default()
    }

    fn admin() -> Actor {
        Actor {
            login: "it".into(),
            host: "ws1".into(),
        }
    }

    fn with_users(logins: &[&str]) -> Directory {
        let changes: Vec<_> = logins
            .iter()
            .map(|l| Change::Add {
                login: (*l).into(),
                name: String::new(),
                email: String::new(),
            })
            .collect();
        Directory::empty()
            .apply(&changes, &SeatLimit::Named(0), &admin(), at(0))
            .unwrap()
            .directory
    }

    fn assign(dir: &Directory, logins: &[&str], seats: u32, secs: i64) -> Applied {
        let changes: Vec<_> = logins
            .iter()
            .map(|l| Change::Assign { login: (*l).into() })
            .collect();
        dir.apply(&changes, &SeatLimit::Named(seats), &admin(), at(secs))
            .unwrap()
    }

    #[test]
    fn ticking_past_the_limit_trims_the_latest() {
        let dir = with_users(&["ana", "bo", "cy"]);
        let first = assign(&dir, &["bo", "ana"], 2, 10).directory;
        let applied = assign(&first, &["cy"], 2, 20);
        assert_eq!(applied.directory.seats_in_use(), 2);
        assert_eq!(applied.trimmed().collect::<Vec<_>>(), ["cy"]);
        // The seat given and trimmed in one save is reported once, as trimmed.
        assert!(!applied.effects.contains(&Effect::Assigned("cy".into())));
        let notice = applied.effects[0].to_string();
        assert!(notice.contains("cy lost the named seat"), "{notice}");
        assert!(notice.contains("2 named seats"), "{notice}");
    }

    #[test]
    fn fewer_seats_on_renewal_keep_the_earliest() {
        let dir = with_users(&["ana", "bo", "cy"]);
        let dir = assign(&dir, &["cy"], 3, 5).directory;
        let dir = assign(&dir, &["ana", "bo"], 3, 9).directory;
        let renewed = dir
            .apply(&[], &SeatLimit::Named(2), &admin(), at(50))
            .unwrap();
        // cy was first; ana and bo tie at 9, so the login decides.
        assert_eq!(renewed.trimmed().collect::<Vec<_>>(), ["bo"]);
    }

    #[test]
    fn a_batch_with_one_bad_change_changes_nothing() {
        let dir = with_users(&["ana"]);
        let result = dir.apply(
            &[
                Change::Assign {
                    login: "ana".into(),
                },
                Change::Assign {
                    login: "zed".into(),
                },
            ],
            &SeatLimit::Named(5),
            &admin(),
            at(1),
        );
        assert_eq!(result, Err(ChangeError::Unknown("zed".into())));
        assert_eq!(dir.seats_in_use(), 0);
    }

    #[test]
    fn no_license_means_no_new_seats_but_existing_ones_stay() {
        let dir = assign(&with_users(&["ana", "bo"]), &["ana"], 5, 1).directory;
        let limit = SeatLimit::Unavailable("no license is activated".into());
        let refused = dir.apply(
            &[Change::Assign { login: "bo".into() }],
            &limit,
            &admin(),
            at(2),
        );
        assert!(matches!(refused, Err(ChangeError::NoNamedSeats(_))));
        let kept = dir.apply(&[], &limit, &admin(), at(2)).unwrap();
        assert_eq!(kept.directory.seats_in_use(), 1);
    }

    #[test]
    fn disabling_frees_the_seat_only_under_the_policy() {
        let dir = assign(&with_users(&["ana"]), &["ana"], 5, 1).directory;
        let disable = Change::SetDisabled {
            login: "ana".into(),
            disabled: true,
        };
        let kept = dir
            .apply(
                std::slice::from_ref(&disable),
                &SeatLimit::Named(5),
                &admin(),
                at(2),
            )
            .unwrap();
        assert_eq!(kept.directory.seats_in_use(), 1);
        let policy = Change::SetPolicy(SeatPolicy {
            auto_assign: false,
            free_on_disable: true,
        });
        let freed = dir
            .apply(&[policy, disable], &SeatLimit::Named(5), &admin(), at(2))
            .unwrap();
        assert_eq!(freed.directory.seats_in_use(), 0);
        let assign_disabled = freed.directory.apply(
            &[Change::Assign {
                login: "ana".into(),
            }],
            &SeatLimit::Named(5),
            &admin(),
            at(3),
        );
        assert_eq!(
            assign_disabled,
            Err(ChangeError::DisabledUser("ana".into()))
        );
    }

    #[test]
    fn logins_and_addresses_are_checked() {
        for bad in ["", "two words", "tab\there", &"x".repeat(65)] {
            assert!(check_login(bad).is_err(), "{bad:?}");
        }
        assert!(check_login("ana.lima@corp").is_ok());
        let bad_email = Directory::empty().apply(
            &[Change::Add {
                login: "ana".into(),
                name: "Ana".into(),
                email: "not-an-address".into(),
            }],
            &SeatLimit::Named(1),
            &admin(),
            at(0),
        );
        assert!(
            bad_email
                .unwrap_err()
                .to_string()
                .contains("name@example.com")
        );
    }

    proptest! {
        /// Whatever the admin ticks, in whatever order and batches, the directory never holds
        /// more seats than the license, and a seat, once standing, is only lost to a later
        /// smaller license — never to someone ticked after it.
        #[test]
        fn never_more_seats_than_the_license(
            batches in prop::collection::vec(prop::collection::vec((0usize..12, any::<bool>()), 0..8), 1..8),
            seats in 0u32..6,
        ) {
            let logins: Vec<String> = (0..12).map(|i| format!("u{i:02}")).collect();
            let names: Vec<&str> = logins.iter().map(String::as_str).collect();
            let mut dir = with_users(&names);
            let limit = SeatLimit::Named(seats);
            for (step, batch) in batches.iter().enumerate() {
                let changes: Vec<Change> = batch.iter().map(|(i, on)| {
                    let login = logins[*i].clone();
                    if *on { Change::Assign { login } } else { Change::Unassign { login } }
                }).collect();
                let before = dir.clone();
                let applied = dir.apply(&changes, &limit, &admin(), at(i64::try_from(step).unwrap_or(0) + 1)).unwrap();
                prop_assert!(applied.directory.seats_in_use() <= seats as usize);
                // Nobody who held a seat before and was not unticked loses it.
                for user in before.users.values().filter(|u| u.seat.is_some()) {
                    let unticked = batch.iter().any(|(i, on)| !on && logins[*i] == user.login);
                    if !unticked {
                        prop_assert!(applied.directory.users[&user.login].seat.is_some());
                    }
                }
                // The same changes give the same result (deterministic).
                let again = dir.apply(&changes, &limit, &admin(), at(i64::try_from(step).unwrap_or(0) + 1)).unwrap();
                prop_assert_eq!(&again, &applied);
                dir = applied.directory;
            }
        }
    }
}
