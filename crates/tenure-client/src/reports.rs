//! Usage reports as CSV, for spreadsheets: per day, and per user.

use tenure_core::usage::Usage;

fn hours(seconds: i64) -> String {
    #[expect(clippy::cast_precision_loss, reason = "hours in a report")]
    let h = seconds as f64 / 3600.0;
    format!("{h:.2}")
}

fn write(rows: impl Iterator<Item = Vec<String>>, header: &[&str]) -> String {
    let mut writer = csv::Writer::from_writer(Vec::new());
    // Writing into a Vec cannot fail.
    let _ = writer.write_record(header);
    for row in rows {
        let _ = writer.write_record(&row);
    }
    String::from_utf8(writer.into_inner().unwrap_or_default()).unwrap_or_default()
}

/// `day,peak_in_use,refusals,seat_hours,overdraft_grants`, one row per day (UTC).
pub fn days_csv(report: &Usage) -> String {
    write(
        report.days.iter().map(|d| {
            vec![
                d.day.to_string(),
                d.peak.to_string(),
                d.refusals.to_string(),
                hours(d.seat_seconds),
                d.overdraft.to_string(),
            ]
        }),
        &[
            "day",
            "peak_in_use",
            "refusals",
            "seat_hours",
            "overdraft_grants",
        ],
    )
}

/// `login,sessions,seat_hours`, most seat time first.
pub fn users_csv(report: &Usage) -> String {
    write(
        report.users.iter().map(|u| {
            vec![
                u.login.clone(),
                u.sessions.to_string(),
                hours(u.seat_seconds),
            ]
        }),
        &["login", "sessions", "seat_hours"],
    )
}

/// Hours with two decimals, as in the CSV.
pub fn seat_hours(seconds: i64) -> String {
    hours(seconds)
}
