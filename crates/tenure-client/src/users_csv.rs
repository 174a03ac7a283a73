//! Users as CSV, for spreadsheets: import with a header row `login,name,email` (and optionally
//! `licensed` and `disabled`), export with every column.
//!
//! An import is checked whole before anything is saved: every bad row is reported with its line
//! number, and a file with any bad row changes nothing.

use std::collections::BTreeMap;
use std::fmt;

use tenure_core::directory::{Change, Directory, check_details, check_login};

/// The largest CSV file read (a directory of 100,000 users is about 8 MiB).
pub const MAX_CSV_BYTES: usize = 16 * 1024 * 1024;

/// One user row of an import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvUser {
    /// The line it came from (1 is the header).
    pub line: u64,
    /// Login.
    pub login: String,
    /// Name.
    pub name: String,
    /// E-mail address.
    pub email: String,
    /// `licensed` column: give or take the seat; `None` leaves it as it is.
    pub licensed: Option<bool>,
    /// `disabled` column; `None` leaves it as it is.
    pub disabled: Option<bool>,
}

/// A bad row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    /// Line number in the file.
    pub line: u64,
    /// What is wrong.
    pub problem: String,
}

/// Why a CSV file cannot be imported. Nothing was changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CsvError {
    /// Over [`MAX_CSV_BYTES`].
    #[error("the file is too large for a user list ({0} bytes; the limit is 16 MiB)")]
    TooLarge(usize),
    /// Not UTF-8.
    #[error(
        "the file is not UTF-8 text: save it from the spreadsheet as \"CSV UTF-8\" and import again"
    )]
    NotUtf8,
    /// The header is missing or wrong.
    #[error(
        "the first line must be the header login,name,email (optionally followed by licensed and disabled); found {0:?}"
    )]
    Header(String),
    /// Bad rows.
    #[error("{}", RowList(.0))]
    Rows(Vec<RowError>),
}

struct RowList<'a>(&'a [RowError]);

impl fmt::Display for RowList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const SHOWN: usize = 20;
        write!(
            f,
            "{} bad {} in the file, so nothing was imported:",
            self.0.len(),
            if self.0.len() == 1 { "row" } else { "rows" }
        )?;
        for e in self.0.iter().take(SHOWN) {
            write!(f, "\n  line {}: {}", e.line, e.problem)?;
        }
        if self.0.len() > SHOWN {
            write!(f, "\n  … and {} more", self.0.len() - SHOWN)?;
        }
        Ok(())
    }
}

fn yes_no(text: &str) -> Result<Option<bool>, String> {
    match text.trim().to_ascii_lowercase().as_str() {
        "" => Ok(None),
        "yes" | "y" | "true" | "1" | "x" => Ok(Some(true)),
        "no" | "n" | "false" | "0" => Ok(Some(false)),
        other => Err(format!("{other:?} is not yes or no")),
    }
}

/// Column positions of an import's header.
struct Columns {
    licensed: Option<usize>,
    disabled: Option<usize>,
    count: usize,
}

fn columns(header: &csv::StringRecord) -> Result<Columns, CsvError> {
    let names: Vec<String> = header
        .iter()
        .map(|h| h.trim().to_ascii_lowercase())
        .collect();
    let shown = header.iter().collect::<Vec<_>>().join(",");
    if names.len() < 3 || names[..3] != ["login", "name", "email"] {
        return Err(CsvError::Header(shown));
    }
    let mut cols = Columns {
        licensed: None,
        disabled: None,
        count: names.len(),
    };
    for (i, name) in names.iter().enumerate().skip(3) {
        match name.as_str() {
            "licensed" => cols.licensed = Some(i),
            "disabled" => cols.disabled = Some(i),
            // Export's informative columns are read back without complaint.
            "assigned_at" | "assigned_by" => {}
            _ => return Err(CsvError::Header(shown)),
        }
    }
    Ok(cols)
}

/// Parses an import file. All rows are checked; any bad row refuses the file.
pub fn parse(bytes: &[u8]) -> Result<Vec<CsvUser>, CsvError> {
    if bytes.len() > MAX_CSV_BYTES {
        return Err(CsvError::TooLarge(bytes.len()));
    }
    let text = std::str::from_utf8(bytes).map_err(|_| CsvError::NotUtf8)?;
    // Spreadsheets often start UTF-8 files with a byte-order mark.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .has_headers(true)
        .from_reader(text.as_bytes());
    let header = reader
        .headers()
        .map_err(|e| CsvError::Header(e.to_string()))?
        .clone();
    let cols = columns(&header)?;
    let mut users = Vec::new();
    let mut errors = Vec::new();
    let mut first_line: BTreeMap<String, u64> = BTreeMap::new();
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, csv::Position::line);
                errors.push(RowError {
                    line,
                    problem: format!("not readable as CSV ({e})"),
                });
                continue;
            }
        };
        let line = record.position().map_or(0, csv::Position::line);
        if record.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        match row(&record, &cols, line) {
            Ok(user) => {
                if let Some(earlier) = first_line.insert(user.login.clone(), line) {
                    errors.push(RowError {
                        line,
                        problem: format!("{} is already on line {earlier}", user.login),
                    });
                } else {
                    users.push(user);
                }
            }
            Err(problem) => errors.push(RowError { line, problem }),
        }
    }
    if errors.is_empty() {
        Ok(users)
    } else {
        Err(CsvError::Rows(errors))
    }
}

fn row(record: &csv::StringRecord, cols: &Columns, line: u64) -> Result<CsvUser, String> {
    if record.len() != cols.count {
        return Err(format!(
            "{} fields where the header has {}",
            record.len(),
            cols.count
        ));
    }
    let field = |i: usize| record.get(i).unwrap_or_default().trim().to_owned();
    let (login, name, email) = (field(0), field(1), field(2));
    check_login(&login).map_err(|e| e.to_string())?;
    check_details(&login, &name, &email).map_err(|e| e.to_string())?;
    let flag = |col: Option<usize>| col.map_or(Ok(None), |i| yes_no(&field(i)));
    Ok(CsvUser {
        line,
        licensed: flag(cols.licensed).map_err(|e| format!("licensed: {e}"))?,
        disabled: flag(cols.disabled).map_err(|e| format!("disabled: {e}"))?,
        login,
        name,
        email,
    })
}

/// The changes an import makes to `directory`: new users are added, existing ones get the
/// file's name and e-mail, and the optional columns set seats and disabled. Users not in the
/// file are left alone. Seats given by one import share one time, so when it ticks more users
/// than there are seats, the trimming rule's tie-break (login order) decides who gets one.
pub fn import_changes(directory: &Directory, rows: &[CsvUser]) -> Vec<Change> {
    let mut changes = Vec::new();
    for row in rows {
        let login = row.login.clone();
        match directory.users.get(&row.login) {
            None => changes.push(Change::Add {
                login: login.clone(),
                name: row.name.clone(),
                email: row.email.clone(),
            }),
            Some(user) if user.name != row.name || user.email != row.email => {
                changes.push(Change::Edit {
                    login: login.clone(),
                    name: row.name.clone(),
                    email: row.email.clone(),
                });
            }
            Some(_) => {}
        }
        if let Some(disabled) = row.disabled {
            changes.push(Change::SetDisabled {
                login: login.clone(),
                disabled,
            });
        }
    }
    // Seats after every user exists and has its disabled flag.
    for row in rows {
        let login = row.login.clone();
        match row.licensed {
            Some(true) => changes.push(Change::Assign { login }),
            Some(false) => changes.push(Change::Unassign { login }),
            None => {}
        }
    }
    changes
}

/// The directory as CSV, sorted by login, readable by [`parse`].
pub fn export(directory: &Directory) -> String {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let header = [
        "login",
        "name",
        "email",
        "licensed",
        "disabled",
        "assigned_at",
        "assigned_by",
    ];
    // Writing into a Vec cannot fail.
    let _ = writer.write_record(header);
    for user in directory.users.values() {
        let yes = |b: bool| if b { "yes" } else { "no" };
        let assigned_at = user
            .seat
            .as_ref()
            .map(|s| s.assigned_at.to_rfc3339())
            .unwrap_or_default();
        let assigned_by = user
            .seat
            .as_ref()
            .map(|s| s.assigned_by.clone())
            .unwrap_or_default();
        let _ = writer.write_record([
            user.login.as_str(),
            &user.name,
            &user.email,
            yes(user.seat.is_some()),
            yes(user.disabled),
            &assigned_at,
            &assigned_by,
        ]);
    }
    let bytes = writer.into_inner().unwrap_or_default();
    String::from_utf8(bytes).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tenure_core::directory::{Actor, SeatLimit};

    #[test]
    fn every_bad_row_is_named_by_its_line() {
        let text = "login,name,email\n\
                    ana,Ana Lima,ana@corp.example\n\
                    bad login,Bo,bo@corp.example\n\
                    cy,Cy,not-an-address\n\
                    ana,Ana again,ana2@corp.example\n\
                    dee,Dee\n";
        let Err(CsvError::Rows(rows)) = parse(text.as_bytes()) else {
            panic!("expected bad rows");
        };
        let lines: Vec<u64> = rows.iter().map(|r| r.line).collect();
        assert_eq!(lines, [3, 4, 5, 6]);
        let message = CsvError::Rows(rows).to_string();
        assert!(message.contains("nothing was imported"), "{message}");
        assert!(
            message.contains("line 5: ana is already on line 2"),
            "{message}"
        );
        assert!(
            message.contains("line 6: 2 fields where the header has 3"),
            "{message}"
        );
    }

    #[test]
    fn header_bom_and_not_utf8() {
        assert!(matches!(
            parse(b"user,name,email\nana,Ana,\n"),
            Err(CsvError::Header(_))
        ));
        assert!(matches!(parse(b"\xff\xfe"), Err(CsvError::NotUtf8)));
        let with_bom = "\u{feff}login,name,email,licensed\nana,Ana,,yes\n";
        let rows = parse(with_bom.as_bytes()).unwrap();
        assert_eq!(rows[0].licensed, Some(true));
    }

    #[test]
    fn export_reads_back_to_the_same_directory() {
        let actor = Actor {
            login: "it".into(),
            host: "ws".into(),
        };
        let now = chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default();
        let text = "login,name,email,licensed\nana,\"Lima, Ana\",ana@corp.example,yes\nbo,Bo,,no\n";
        let rows = parse(text.as_bytes()).unwrap();
        let empty = Directory::empty();
        let dir = empty
            .apply(
                &import_changes(&empty, &rows),
                &SeatLimit::Named(5),
                &actor,
                now,
            )
            .unwrap()
            .directory;
        assert_eq!(dir.users["ana"].name, "Lima, Ana");
        assert_eq!(dir.seats_in_use(), 1);
        let again = parse(export(&dir).as_bytes()).unwrap();
        assert!(import_changes(&dir, &again).iter().all(|c| matches!(
            c,
            Change::Assign { .. } | Change::Unassign { .. } | Change::SetDisabled { .. }
        )));
        let same = dir
            .apply(
                &import_changes(&dir, &again),
                &SeatLimit::Named(5),
                &actor,
                now,
            )
            .unwrap();
        assert!(same.effects.is_empty(), "{:?}", same.effects);
    }
}
