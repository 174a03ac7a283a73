//! The fields a dialog shows for what its request needs and the workstation lacks — the
//! license server's address, the account and its token — so nobody is sent to Settings and
//! back: they are kept as the request is sent (`Job::After`).

use egui::{RichText, Ui};
use tenure_client::Credentials;

use crate::gui::worker::{FirstNeeds, Snapshot};

/// What is typed into the fields for what is missing.
#[derive(Debug, Clone, Default)]
pub struct NeedsForm {
    /// The license server's address.
    pub server_url: String,
    /// The account's name.
    pub account: String,
    /// Its token (a secret: shown as dots).
    pub token: String,
    /// The first empty field has been given the keyboard focus.
    focused: bool,
}

/// Which fields to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Missing {
    /// No license server is set.
    pub server: bool,
    /// The request needs the account and nobody is signed in.
    pub account: bool,
}

impl Missing {
    /// What the workstation lacks for a request that needs the server, and the account when
    /// `account_needed` (moves and extensions do; activation does not).
    pub fn of(snapshot: Option<&Snapshot>, account_needed: bool) -> Self {
        Self {
            server: snapshot.is_some_and(|s| s.server_url.is_none()),
            account: account_needed && snapshot.is_some_and(|s| s.account.is_none()),
        }
    }

    /// Nothing is missing.
    pub fn is_nothing(self) -> bool {
        !self.server && !self.account
    }
}

impl NeedsForm {
    /// Draws the fields for what is `missing`. When `autofocus`, the first field takes the
    /// keyboard the first time it is drawn (Tab goes on to the next). Returns what to keep
    /// before the request, or `None` while a field shown is empty.
    pub fn ui(&mut self, ui: &mut Ui, missing: Missing, autofocus: bool) -> Option<FirstNeeds> {
        let (needs_server, needs_account) = (missing.server, missing.account);
        if missing.is_nothing() {
            return Some(FirstNeeds::default());
        }
        let mut first_field = None;
        egui::Grid::new(("needs", needs_server, needs_account))
            .num_columns(2)
            .spacing([10.0, 6.0])
            .show(ui, |ui| {
                if needs_server {
                    let label = ui.label("License server");
                    let field = ui
                        .add(
                            egui::TextEdit::singleline(&mut self.server_url)
                                .hint_text("https://licenses.example.com")
                                .desired_width(280.0),
                        )
                        .labelled_by(label.id);
                    first_field.get_or_insert(field);
                    ui.end_row();
                }
                if needs_account {
                    let label = ui.label("Account");
                    let field = ui
                        .add(
                            egui::TextEdit::singleline(&mut self.account)
                                .hint_text("as your vendor sent it")
                                .desired_width(280.0),
                        )
                        .labelled_by(label.id);
                    first_field.get_or_insert(field);
                    ui.end_row();
                    let label = ui.label("Account token");
                    ui.add(
                        egui::TextEdit::singleline(&mut self.token)
                            .password(true)
                            .desired_width(280.0),
                    )
                    .labelled_by(label.id);
                    ui.end_row();
                }
            });
        if needs_account {
            ui.label(
                RichText::new("The token is checked by the server and kept in the OS keyring.")
                    .small(),
            );
        }
        if autofocus
            && !std::mem::replace(&mut self.focused, true)
            && let Some(field) = first_field
        {
            field.request_focus();
        }
        let server_url = needs_server.then(|| self.server_url.trim().to_owned());
        let sign_in = needs_account.then(|| Credentials {
            account: self.account.trim().to_owned(),
            token: self.token.trim().to_owned(),
        });
        let complete = server_url.as_ref().is_none_or(|u| !u.is_empty())
            && sign_in
                .as_ref()
                .is_none_or(|c| !c.account.is_empty() && !c.token.is_empty());
        complete.then_some(FirstNeeds {
            server_url,
            sign_in,
        })
    }

    /// Empties the fields (after the request was sent, or the dialog closed).
    pub fn clear(&mut self) {
        *self = Self::default();
    }
}
