//! Printing a status report for people or as JSON.

use std::fmt::Write as _;

use tenure_client::Report;
use tenure_core::Status;

/// Prints the report, and any named seats a smaller license just took back.
pub fn print_report(report: &Report, json: bool) -> std::io::Result<()> {
    if let Some(note) = report.seats_trimmed_note() {
        eprintln!("warning: {note}");
    }
    if json {
        outln!("{}", report_json(report))?;
    } else {
        out!("{}", report_text(report))?;
    }
    Ok(())
}

/// The report as JSON.
pub fn report_json(report: &Report) -> serde_json::Value {
    let grace = report.status.grace();
    let license = report.license.as_ref().map(|l| {
        serde_json::json!({
            "id": l.id,
            "customer": l.terms.customer,
            "kind": l.terms.kind,
            "seats": l.terms.seats,
            "grace_days": l.grace_days,
            "starts": l.terms.validity.starts,
            "expires": l.terms.validity.expires,
            "modules": l.terms.modules,
            "validated_at": l.validated_at,
            "binding": l.binding,
        })
    });
    let (licensed_binding, current_binding) = match &report.status {
        Status::BindingMismatch { licensed, current } => (Some(licensed), Some(current)),
        _ => (None, report.binding.as_ref()),
    };
    serde_json::json!({
        "status": report.status.code(),
        "label": report.status.label(),
        "advice": report.status.advice(),
        "days_left": grace.map(|g| g.days_left),
        "offline_until": grace.map(|g| g.offline_until),
        "license": license,
        "licensed_binding": licensed_binding,
        "current_binding": current_binding,
        "seats_trimmed": report.seats_trimmed,
    })
}

/// The report as lines of text.
pub fn report_text(report: &Report) -> String {
    let mut out = format!("{}\n  {}\n", report.status.label(), report.status.advice());
    if let Some(g) = report.status.grace() {
        let _ = writeln!(
            out,
            "  {} days of offline grace left: you can work offline until {}",
            g.days_left,
            g.offline_until
                .with_timezone(&chrono::Local)
                .format("%a %d %b %Y %H:%M %Z")
        );
    }
    if let Status::BindingMismatch { licensed, current } = &report.status {
        let _ = write!(
            out,
            "             licensed for        now connected to\n  server     {:<20}{}\n  database   {:<20}{}\n",
            licensed.server, current.server, licensed.database, current.database
        );
    }
    if let Some(b) = &report.binding {
        let _ = writeln!(
            out,
            "  Database   {} / {} (this workstation)",
            b.server, b.database
        );
    }
    if let Some(l) = &report.license {
        let _ = write!(
            out,
            "  License    {} · {} × {} · {} to {}\n  Bound to   {}\n  Validated  {}\n",
            l.terms.customer,
            l.terms.seats,
            l.terms.kind.label(),
            l.terms.validity.starts,
            l.terms.validity.expires,
            l.binding,
            l.validated_at
                .with_timezone(&chrono::Local)
                .format("%a %d %b %Y %H:%M %Z"),
        );
        for m in &l.terms.modules {
            let _ = writeln!(
                out,
                "  Module     {} {} to {}",
                m.name, m.validity.starts, m.validity.expires
            );
        }
    }
    out
}
