//! Choosing files. A native dialog opens on a thread of its own, so the window keeps drawing.
//! Where none can open (no desktop portal, no zenity: a bare X server, a kiosk), the window
//! says so and offers a path field instead, and for a vendor key a box to paste it into.

use std::path::PathBuf;
use std::sync::mpsc;

use tenure_client::OfflineWish;

use super::worker::Job;

/// What a file is wanted for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FilePurpose {
    /// A vendor root, certificate or revocation list to trust.
    TrustKey,
    /// A CSV of users to import.
    ImportUsers,
    /// Where to write the users as CSV.
    ExportUsers,
    /// Where to write the usage report.
    ExportUsage {
        /// Per user instead of per day.
        by_user: bool,
    },
    /// Where to write an offline request.
    OfflineRequest(OfflineWish),
    /// The vendor's signed answer to import.
    OfflineAnswer,
    /// Where to write the release that stops the license here.
    OfflineRelease,
    /// Where to write the license file.
    ExportLicense,
}

impl FilePurpose {
    pub fn saves(&self) -> bool {
        matches!(
            self,
            FilePurpose::ExportUsers
                | FilePurpose::ExportUsage { .. }
                | FilePurpose::OfflineRequest(_)
                | FilePurpose::OfflineRelease
                | FilePurpose::ExportLicense
        )
    }

    pub fn suggested_name(&self) -> &'static str {
        match self {
            FilePurpose::ExportUsers => "tenure-users.csv",
            FilePurpose::ExportUsage { by_user: false } => "tenure-usage-per-day.csv",
            FilePurpose::ExportUsage { by_user: true } => "tenure-usage-per-user.csv",
            FilePurpose::OfflineRequest(_) => "tenure-request.txt",
            FilePurpose::OfflineRelease => "tenure-release.txt",
            FilePurpose::ExportLicense => "tenure-license.txt",
            FilePurpose::TrustKey | FilePurpose::ImportUsers | FilePurpose::OfflineAnswer => "",
        }
    }

    fn title(&self) -> &'static str {
        match self {
            FilePurpose::TrustKey => "Vendor key, certificate or revocation file",
            FilePurpose::ImportUsers => "CSV file of users to import",
            FilePurpose::ExportUsers => "Save the users as CSV",
            FilePurpose::ExportUsage { .. } => "Save the usage report",
            FilePurpose::OfflineRequest(_) => "Save the request for your vendor",
            FilePurpose::OfflineRelease => "Save the release for your vendor's portal",
            FilePurpose::OfflineAnswer => "The vendor's signed answer",
            FilePurpose::ExportLicense => "Save a copy of the license",
        }
    }

    fn is_csv(&self) -> bool {
        matches!(
            self,
            FilePurpose::ImportUsers | FilePurpose::ExportUsers | FilePurpose::ExportUsage { .. }
        )
    }

    /// The job that uses the chosen file.
    pub fn job(&self, path: PathBuf) -> Job {
        match self {
            FilePurpose::TrustKey => Job::TrustFile(path),
            FilePurpose::ImportUsers => Job::ImportUsers(path),
            FilePurpose::ExportUsers => Job::ExportUsers(path),
            FilePurpose::ExportUsage { by_user } => Job::ExportUsage {
                path,
                by_user: *by_user,
            },
            FilePurpose::OfflineRequest(wish) => Job::OfflineRequest {
                wish: wish.clone(),
                path,
            },
            FilePurpose::OfflineAnswer => Job::OfflineImport(path),
            FilePurpose::OfflineRelease => Job::OfflineRelease(path),
            FilePurpose::ExportLicense => Job::ExportLicense(path),
        }
    }

    fn dialog(&self) -> rfd::AsyncFileDialog {
        let mut dialog = rfd::AsyncFileDialog::new().set_title(self.title());
        if !self.suggested_name().is_empty() {
            dialog = dialog.set_file_name(self.suggested_name());
        }
        if self.is_csv() {
            dialog = dialog.add_filter("CSV", &["csv"]);
        }
        if *self == FilePurpose::TrustKey {
            dialog = dialog.add_filter("Tenure key files", &["pub", "cert", "txt", "asc"]);
        }
        dialog.add_filter("All files", &["*"])
    }
}

/// How a dialog ended.
#[derive(Debug)]
enum Picked {
    Path(PathBuf),
    Cancelled,
    Unavailable(String),
}

/// A path typed by hand because no dialog could open.
#[derive(Debug, Clone)]
pub struct Typing {
    /// What it is for.
    pub purpose: FilePurpose,
    /// Why no dialog opened.
    pub why: String,
    /// The path as typed.
    pub path: String,
    /// Text pasted instead of a file (a vendor key).
    pub pasted: String,
    /// The field has been given the keyboard (once, when it appeared).
    pub focused: bool,
}

/// The file dialog in progress, or the path field shown instead.
#[derive(Debug, Default)]
pub struct FileChooser {
    waiting: Option<(FilePurpose, mpsc::Receiver<Picked>)>,
    /// The path field, when no dialog could open.
    pub typing: Option<Typing>,
}

impl FileChooser {
    /// Opens a dialog for `purpose` on a thread of its own; the answer comes through `poll`.
    pub fn ask(&mut self, purpose: FilePurpose, ctx: &egui::Context) {
        if self.waiting.is_some() {
            return;
        }
        // Already typing: the field stays where it is.
        if self.typing.as_ref().is_some_and(|t| t.purpose == purpose) {
            return;
        }
        let (tx, rx) = mpsc::sync_channel(1);
        let ctx = ctx.clone();
        let dialog = purpose.dialog();
        let saves = purpose.saves();
        let spawned = std::thread::Builder::new()
            .name("tenure-file-dialog".into())
            .spawn(move || {
                let picked = if let Err(why) = native_dialog_available() {
                    Picked::Unavailable(why)
                } else {
                    let chosen = if saves {
                        pollster::block_on(dialog.save_file())
                    } else {
                        pollster::block_on(dialog.pick_file())
                    };
                    chosen.map_or(Picked::Cancelled, |f| Picked::Path(f.path().to_owned()))
                };
                let _ = tx.send(picked);
                ctx.request_repaint();
            });
        match spawned {
            Ok(_) => self.waiting = Some((purpose, rx)),
            Err(e) => self.type_instead(purpose, format!("no thread for the dialog: {e}")),
        }
    }

    fn type_instead(&mut self, purpose: FilePurpose, why: String) {
        self.typing = Some(Typing {
            purpose,
            why,
            path: String::new(),
            pasted: String::new(),
            focused: false,
        });
    }

    /// True while a dialog is open.
    pub fn is_waiting(&self) -> bool {
        self.waiting.is_some()
    }

    /// The job for a file chosen in a dialog, if one was.
    pub fn poll(&mut self) -> Option<Job> {
        let (purpose, rx) = self.waiting.as_ref()?;
        let picked = match rx.try_recv() {
            Ok(picked) => picked,
            Err(mpsc::TryRecvError::Empty) => return None,
            Err(mpsc::TryRecvError::Disconnected) => {
                Picked::Unavailable("the file dialog stopped unexpectedly".into())
            }
        };
        let purpose = purpose.clone();
        self.waiting = None;
        match picked {
            Picked::Path(path) => Some(purpose.job(path)),
            Picked::Cancelled => None,
            Picked::Unavailable(why) => {
                self.type_instead(purpose, why);
                None
            }
        }
    }
}

/// Whether a native file dialog can open here, or why not.
#[cfg(target_os = "linux")]
pub fn native_dialog_available() -> Result<(), String> {
    if std::env::var_os("TENURE_NO_FILE_DIALOG").is_some() {
        return Err("TENURE_NO_FILE_DIALOG is set".into());
    }
    if portal_on_session_bus() || program_on_path("zenity") {
        return Ok(());
    }
    Err("this desktop has no file-dialog service (xdg-desktop-portal) and no zenity".into())
}

/// Whether a native file dialog can open here, or why not.
#[cfg(not(target_os = "linux"))]
pub fn native_dialog_available() -> Result<(), String> {
    Ok(())
}

#[cfg(target_os = "linux")]
fn portal_on_session_bus() -> bool {
    const PORTAL: &str = "org.freedesktop.portal.Desktop";
    let Ok(connection) = zbus::blocking::Connection::session() else {
        return false;
    };
    let Ok(bus) = zbus::blocking::fdo::DBusProxy::new(&connection) else {
        return false;
    };
    let Ok(name) = zbus::names::BusName::try_from(PORTAL) else {
        return false;
    };
    bus.name_has_owner(name).unwrap_or(false)
        || bus
            .list_activatable_names()
            .is_ok_and(|names| names.iter().any(|n| n.as_str() == PORTAL))
}

#[cfg(target_os = "linux")]
fn program_on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()))
}

/// `~/x` as the home folder's `x`, as people type it.
pub fn expand_home(text: &str) -> PathBuf {
    match (text.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => PathBuf::from(text),
    }
}
