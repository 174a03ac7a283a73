//! `license`: create, list and revoke licenses.

use anyhow::Result;
use chrono::{NaiveDate, Utc};
use clap::{Args, Subcommand};
use tenure_core::license::{DEFAULT_GRACE_DAYS, DEFAULT_LEASE_SECS};
use tenure_core::protocol::CreateLicenseRequest;
use tenure_core::{
    ActivationMode, LicenseTerms, Module, Quantity, QuantityKind, SeatKind, Validity,
};
use tenure_server::Vendor;

#[derive(Subcommand)]
pub(super) enum LicenseCommand {
    /// Create a license and print its key.
    Create(CreateLicense),
    /// List licenses.
    List {
        /// Only this account's.
        #[arg(long)]
        account: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// One license: its terms, where it is bound, its last validation, and the overdraft its
    /// workstation reported (seats given beyond the count, per day).
    Show {
        /// License id (lic_…).
        id: String,
        /// Days of overdraft reports to show.
        #[arg(long, default_value_t = 90)]
        days: u32,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Revoke a license by id.
    Revoke {
        /// License id (lic_…).
        id: String,
    },
}

#[derive(Args)]
pub(super) struct CreateLicense {
    /// Owning account.
    #[arg(long)]
    account: String,
    /// Customer name on the license (default: the account name).
    #[arg(long)]
    customer: Option<String>,
    /// named or concurrent (with --quantity: taken from the first named or concurrent one).
    #[arg(long, default_value = "named")]
    kind: SeatKind,
    /// Number of seats (with --quantity: taken from the first named or concurrent one).
    #[arg(long, default_value_t = 1)]
    seats: u32,
    /// A counted quantity as NAME:COUNT:KIND, KIND one of named, concurrent, device (e.g.
    /// devices:500:device, connections:10:concurrent); repeat for more.
    #[arg(long = "quantity")]
    quantities: Vec<Quantity>,
    /// Offline grace period in days.
    #[arg(long, default_value_t = DEFAULT_GRACE_DAYS)]
    grace_days: u32,
    /// Most grace days an extension may grant (default: 3 × grace).
    #[arg(long)]
    max_grace_days: Option<u32>,
    /// First day (YYYY-MM-DD, default today).
    #[arg(long)]
    starts: Option<NaiveDate>,
    /// Last day (YYYY-MM-DD).
    #[arg(long)]
    expires: NaiveDate,
    /// A module as `NAME`, `NAME:START:END`, `NAME::END` or `NAME:START:` (dates YYYY-MM-DD; a
    /// date left out is the license's); repeat for more.
    #[arg(long = "module", value_parser = parse_module)]
    modules: Vec<ModuleArg>,
    /// Activate by files only (offline sites).
    #[arg(long)]
    offline: bool,
    /// Most days a seat may be borrowed.
    #[arg(long, default_value_t = 14)]
    max_borrow_days: u32,
    /// Most rebinds in any 30 days.
    #[arg(long, default_value_t = 3)]
    max_rebinds: u32,
    /// Concurrent-seat lease in seconds.
    #[arg(long, default_value_t = DEFAULT_LEASE_SECS)]
    lease_secs: u32,
    /// Concurrent seats: minutes a seat checked in stays its user's (0: free at once). The
    /// customer may raise it, never lower it.
    #[arg(long, default_value_t = 0)]
    linger_mins: u32,
    /// Concurrent seats: minutes a seat its product reports idle stays held before it is
    /// freed for the next user (0: never). The customer may raise it, never lower it.
    #[arg(long, default_value_t = 0)]
    idle_timeout_mins: u32,
    /// Concurrent seats: how many may be given beyond the count, each marked as overdraft.
    #[arg(long, default_value_t = 0)]
    overdraft: u32,
    /// Named seats: hours before a user whose seat was taken away can be given one again
    /// (0: no cool-down).
    #[arg(long, default_value_t = 0)]
    seat_cooldown_hours: u32,
    /// Named seats: most seats given back out after being taken from someone, in any 30 days
    /// (0: no cap).
    #[arg(long, default_value_t = 0)]
    max_reassignments: u32,
    /// Devices: most devices that take a license (new, or given one again) in any 30 days
    /// (0: no cap).
    #[arg(long, default_value_t = 0)]
    max_device_registrations: u32,
}

impl CreateLicense {
    /// The request these arguments make.
    fn into_request(self) -> CreateLicenseRequest {
        let args = self;
        // Workstations of earlier versions read `kind` and `seats`: the first named or
        // concurrent quantity, or no seats on a license for devices only.
        let (kind, seats) = if args.quantities.is_empty() {
            (args.kind, args.seats)
        } else {
            args.quantities
                .iter()
                .find_map(|q| match q.kind {
                    QuantityKind::Named => Some((SeatKind::Named, q.count)),
                    QuantityKind::Concurrent => Some((SeatKind::Concurrent, q.count)),
                    QuantityKind::Device => None,
                })
                .unwrap_or((SeatKind::Named, 0))
        };
        let validity = Validity {
            starts: args.starts.unwrap_or_else(|| Utc::now().date_naive()),
            expires: args.expires,
        };
        let terms = LicenseTerms {
            customer: args.customer.unwrap_or_else(|| args.account.clone()),
            kind,
            seats,
            grace_days: args.grace_days,
            max_grace_days: args
                .max_grace_days
                .unwrap_or(args.grace_days.saturating_mul(3)),
            validity,
            activation_mode: if args.offline {
                ActivationMode::Offline
            } else {
                ActivationMode::Online
            },
            modules: args
                .modules
                .into_iter()
                .map(|m| m.within(validity))
                .collect(),
            max_borrow_days: args.max_borrow_days,
            max_rebinds_per_30_days: args.max_rebinds,
            lease_secs: args.lease_secs,
            quantities: args.quantities,
            floating: tenure_core::Floating {
                linger_mins: args.linger_mins,
                idle_timeout_mins: args.idle_timeout_mins,
                overdraft: args.overdraft,
            },
            churn: tenure_core::Churn {
                seat_cooldown_hours: args.seat_cooldown_hours,
                reassignments_per_30_days: args.max_reassignments,
                device_registrations_per_30_days: args.max_device_registrations,
            },
        };
        CreateLicenseRequest {
            account: args.account,
            terms,
        }
    }
}

/// A `--module` as given: a date left out is the license's.
#[derive(Debug, Clone)]
struct ModuleArg {
    name: String,
    starts: Option<NaiveDate>,
    expires: Option<NaiveDate>,
}

impl ModuleArg {
    fn within(self, license: Validity) -> Module {
        Module {
            name: self.name,
            validity: Validity {
                starts: self.starts.unwrap_or(license.starts),
                expires: self.expires.unwrap_or(license.expires),
            },
        }
    }
}

fn parse_module(text: &str) -> Result<ModuleArg, String> {
    let mut parts = text.split(':');
    let name = parts.next().unwrap_or_default().trim();
    let (starts, expires) = match (parts.next(), parts.next(), parts.next()) {
        (None, None, None) => ("", ""),
        (Some(starts), Some(expires), None) => (starts, expires),
        _ => {
            return Err(format!(
                "expected NAME, NAME:START:END, NAME::END or NAME:START:, got {text:?}"
            ));
        }
    };
    if name.is_empty() {
        return Err(format!("the module in {text:?} has no name"));
    }
    let date = |s: &str| -> Result<Option<NaiveDate>, String> {
        let s = s.trim();
        if s.is_empty() {
            return Ok(None);
        }
        s.parse::<NaiveDate>()
            .map(Some)
            .map_err(|_| format!("{s:?} is not a date like 2027-12-31"))
    };
    Ok(ModuleArg {
        name: name.to_owned(),
        starts: date(starts)?,
        expires: date(expires)?,
    })
}

pub(super) async fn run(vendor: &Vendor, command: LicenseCommand) -> Result<()> {
    match command {
        LicenseCommand::Create(args) => {
            let created = vendor.licenses().create(&args.into_request()).await?;
            println!("license {} created; key: {}", created.id, created.key);
        }
        LicenseCommand::List { account, json } => {
            let licenses = vendor.licenses().list(account.as_deref()).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&licenses)?);
            } else {
                if licenses.is_empty() {
                    println!("no licenses yet: create one with `tenure-server license create`");
                }
                for l in licenses {
                    let bound = l
                        .binding
                        .map_or_else(|| "not activated".into(), |b| b.to_string());
                    println!(
                        "{}  {}  {}  {} × {}  until {}  {}{}",
                        l.id,
                        l.key,
                        l.account,
                        l.terms.seats,
                        l.terms.kind.label(),
                        l.terms.validity.expires,
                        bound,
                        if l.revoked { "  REVOKED" } else { "" }
                    );
                }
            }
        }
        LicenseCommand::Show { id, days, json } => {
            let since = chrono::Utc::now().date_naive() - chrono::Days::new(u64::from(days));
            let detail = vendor.licenses().show(&id, since).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&detail)?);
            } else {
                print!("{}", shown_words(&detail, days));
            }
        }
        LicenseCommand::Revoke { id } => {
            vendor.licenses().revoke(&id).await?;
            println!("license {id} revoked");
        }
    }
    Ok(())
}

/// `license show` in words.
fn shown_words(detail: &tenure_server::service::LicenseDetail, days: u32) -> String {
    use std::fmt::Write as _;
    let (license, overdraft) = (&detail.license, &detail.overdraft);
    let terms = &license.terms;
    let floating = terms.floating;
    let mut out = format!(
        "license {}  key {}  account {}{}\n{} × {}, until {}\n",
        license.id,
        license.key,
        license.account,
        if license.revoked { "  REVOKED" } else { "" },
        terms.seats,
        terms.kind.label(),
        terms.validity.expires
    );
    let _ = writeln!(
        out,
        "floating: linger {} min, idle release {}, overdraft {}",
        floating.linger_mins,
        match floating.idle_timeout_mins {
            0 => "none".to_owned(),
            mins => format!("after {mins} min"),
        },
        floating.overdraft
    );
    let bound = license
        .binding
        .as_ref()
        .map_or_else(|| "not activated".to_owned(), ToString::to_string);
    let validated = license.last_validated_at.map_or_else(
        || "never".to_owned(),
        |at| at.format("%Y-%m-%d %H:%M UTC").to_string(),
    );
    let _ = writeln!(out, "bound to: {bound}; last validated: {validated}");
    if overdraft.is_empty() {
        let _ = writeln!(out, "overdraft: none reported in the last {days} days");
    } else {
        let total: u64 = overdraft.iter().map(|d| u64::from(d.grants)).sum();
        let _ = writeln!(
            out,
            "overdraft: {total} seats given beyond the count on {} days in the last {days}:",
            overdraft.len()
        );
        for day in overdraft {
            let _ = writeln!(out, "  {}  {}", day.day, day.grants);
        }
    }
    let _ = writeln!(
        out,
        "early returns (lost laptops' borrowed seats, at most {} per 30 days): {}",
        tenure_server::store::EARLY_RETURNS_PER_30_DAYS,
        if detail.early_returns.is_empty() {
            "none"
        } else {
            ""
        }
    );
    for early in &detail.early_returns {
        let _ = writeln!(
            out,
            "  session {} confirmed {}, borrowed until {}",
            early.session_id,
            early.confirmed_at.format("%Y-%m-%d %H:%M UTC"),
            early.borrowed_until.format("%Y-%m-%d %H:%M UTC")
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_module_takes_the_license_dates_it_leaves_out() {
        let license = Validity {
            starts: NaiveDate::from_ymd_opt(2027, 1, 1).unwrap(),
            expires: NaiveDate::from_ymd_opt(2027, 12, 31).unwrap(),
        };
        let day = |s: &str| s.parse::<NaiveDate>().unwrap();
        let dates = |text: &str| {
            let module = parse_module(text).unwrap().within(license);
            (module.name, module.validity.starts, module.validity.expires)
        };
        for (text, name, starts, expires) in [
            ("inspect", "inspect", "2027-01-01", "2027-12-31"),
            ("reports::2027-06-30", "reports", "2027-01-01", "2027-06-30"),
            ("cloud:2027-03-01:", "cloud", "2027-03-01", "2027-12-31"),
            (
                "maps:2027-02-01:2027-03-01",
                "maps",
                "2027-02-01",
                "2027-03-01",
            ),
        ] {
            assert_eq!(
                dates(text),
                (name.to_owned(), day(starts), day(expires)),
                "{text}"
            );
        }
        for wrong in [
            "",
            ":2027-01-01:",
            "maps:2027-02-01",
            "maps:a:b:c",
            "maps:2027-13-01:",
        ] {
            assert!(parse_module(wrong).is_err(), "{wrong:?} accepted");
        }
        let bad_date = parse_module("maps:someday:").unwrap_err();
        assert!(bad_date.contains("\"someday\" is not a date"), "{bad_date}");
    }
}
