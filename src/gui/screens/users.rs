//! Users: named seats as checkboxes beside each user, a counter always in view, search, sort,
//! CSV import and export, and the seat policy. Only the visible rows are drawn.

use egui::{Align, Layout, RichText, Ui};
use egui_extras::{Column, TableBuilder};
use tenure_core::directory::{Change, SeatLimit, User};

use super::users_state::{AddForm, Blocked, EditForm, Filter, Purpose, SortBy, UsersState};
use crate::gui::chrome;
use crate::gui::files::FilePurpose;
use crate::gui::format;
use crate::gui::model::{Model, Screen};
use crate::gui::style::Tone;
use crate::gui::toast::Toast;
use crate::gui::widgets;
use crate::gui::worker::{Event, Job, JobKind};

const ROW_HEIGHT: f32 = 24.0;

/// The width the fixed columns take (Licensed, Login, Seat since, Edit) with the spacing.
const FIXED_COLUMNS: f32 = 64.0 + 110.0 + 96.0 + 84.0 + 6.0 * 8.0;

/// How often the screen reloads the directory while shown and nothing is unsaved.
const RELOAD_EVERY: std::time::Duration = std::time::Duration::from_secs(30);

/// The Users screen: the directory as loaded, the edits not yet saved, its forms.
#[derive(Debug, Default)]
pub struct Users {
    /// The directory and the edits on top of it.
    pub state: UsersState,
    /// The users should be (re)loaded when the screen is next shown.
    pub stale: bool,
}

impl Users {
    /// Draws the screen.
    pub fn ui(&mut self, ui: &mut Ui, model: &mut Model) {
        users_ui(ui, model, &mut self.state);
    }

    /// Follows the worker: what it loaded and saved, and jobs that change who may hold a seat.
    pub fn on_event(&mut self, event: &Event) {
        match event {
            Event::Started(JobKind::LoadUsers) => self.state.loading = true,
            Event::Finished { kind, .. } => {
                if *kind == JobKind::LoadUsers {
                    self.state.loading = false;
                }
                // Another database, or a license with another seat count: reload.
                if kind.changes_the_license() {
                    self.stale = true;
                }
            }
            Event::Users(result) => self.state.on_loaded(result.clone()),
            Event::UsersSaved(outcome) => self.state.on_saved(outcome.clone()),
            Event::UsersImport(Ok(rows)) => {
                if let Some(directory) = self.state.effective().cloned() {
                    let changes = tenure_client::users_csv::import_changes(&directory, rows);
                    let what = format!("Imported {} rows; saving…", rows.len());
                    self.state
                        .edit_for(Purpose::Import, changes, &what, "Nothing was imported");
                }
            }
            Event::UsersImport(Err(text)) => self.state.message = Some((true, text.clone())),
            // Users or seats changed by another process: shown once nothing is unsaved here.
            Event::DatabaseChanged => self.stale = true,
            _ => {}
        }
    }

    /// Loads the users when the screen is shown and needs them, sends the next batch of edits,
    /// and moves the screen's latest message into the toast (with Undo when it can be).
    pub fn jobs(&mut self, shown: bool, model: &mut Model) {
        let users = &mut self.state;
        let old = users.loaded_at.is_some_and(|t| t.elapsed() >= RELOAD_EVERY);
        let wanted = shown
            && (users.loaded.is_none() || self.stale || old)
            && users.blocked.is_none()
            && users.load_error.is_none()
            && !users.loading
            && users.unsaved() == 0;
        if wanted {
            self.stale = false;
            users.loading = true;
            model.request(Job::LoadUsers);
        }
        if let Some(save) = users.next_save() {
            model.request(save);
        }
        if let Some((is_error, text)) = users.message.take() {
            let undo = std::mem::take(&mut users.undo);
            if !text.is_empty() {
                let tone = if is_error { Tone::Bad } else { Tone::Good };
                let mut toast =
                    Toast::verbatim(tone, &text).raised(Screen::Users, Some(JobKind::SaveUsers));
                toast.undo = undo;
                model.toast = Some(toast);
            }
        }
        if let Some(text) = users.trim_notice.take() {
            model.toast = Some(
                Toast::verbatim(Tone::Warn, &text).raised(Screen::Users, Some(JobKind::SaveUsers)),
            );
        }
    }
}

fn users_ui(ui: &mut Ui, model: &mut Model, users: &mut UsersState) {
    let named = matches!(users.limit(), Some(SeatLimit::Named(_)));
    ui.horizontal(|ui| {
        ui.label(
            RichText::new(if named { "Named-user seats" } else { "Users" })
                .size(17.0)
                .strong(),
        );
        ui.with_layout(Layout::right_to_left(Align::Center), |ui| {
            file_buttons(ui, model);
        });
    });
    // The counter has a line of its own, so a long one never runs into the buttons.
    ui.add(egui::Label::new(RichText::new(users.counter()).size(15.0).strong()).wrap());
    if chrome::no_database(ui, model, "users and seats live") {
        return;
    }
    chrome::typed_path_ui(ui, model, &FilePurpose::ImportUsers);
    chrome::typed_path_ui(ui, model, &FilePurpose::ExportUsers);
    banners(ui, model, users);
    if users.loaded.is_none() {
        match &users.load_error {
            Some(e) => {
                widgets::error_box(ui, e);
            }
            None => {
                ui.horizontal(|ui| {
                    ui.spinner();
                    ui.label("Loading users…");
                });
            }
        }
        return;
    }
    ui.horizontal(|ui| {
        ui.label("Search");
        ui.add(
            egui::TextEdit::singleline(&mut users.search)
                .hint_text("login, name or e-mail")
                .desired_width(220.0),
        );
        ui.add_space(12.0);
        ui.label("Show:");
        ui.radio_value(&mut users.filter, Filter::All, "all");
        ui.radio_value(&mut users.filter, Filter::Licensed, "licensed");
        ui.radio_value(&mut users.filter, Filter::Unlicensed, "unlicensed");
    });
    add_and_policy(ui, users);
    ui.add_space(4.0);
    table(ui, users);
    edit_dialog(ui.ctx(), users);
}

fn file_buttons(ui: &mut Ui, model: &mut Model) {
    let busy = model.is_busy(JobKind::UsersFile);
    chrome::file_button(ui, model, "Export CSV…", &FilePurpose::ExportUsers, !busy);
    chrome::file_button(ui, model, "Import CSV…", &FilePurpose::ImportUsers, !busy)
        .on_hover_text("A header row login,name,email (optional: licensed, disabled)");
}

fn banners(ui: &mut Ui, model: &mut Model, users: &mut UsersState) {
    let saving = model.is_busy(JobKind::SaveUsers);
    match users.blocked.clone() {
        Some(Blocked::Conflict(text)) => {
            widgets::warning_box(ui, &text);
            ui.horizontal(|ui| {
                if ui.button("Reload").clicked() {
                    users.loading = true;
                    model.outbox.push(Job::LoadUsers);
                }
                ui.label(format!(
                    "Your {} unsaved changes are kept.",
                    users.unsaved()
                ));
            });
        }
        Some(Blocked::Review) => {
            widgets::warning_box(
                ui,
                &format!(
                    "Reloaded. Your {} unsaved changes are shown on top of the latest data: save them, or discard them.",
                    users.unsaved()
                ),
            );
            ui.horizontal(|ui| {
                if ui.button("Save my changes").clicked() {
                    users.unblock();
                }
                if ui.button("Discard my changes").clicked() {
                    users.discard();
                    model.withdraw(JobKind::SaveUsers);
                }
            });
        }
        Some(Blocked::Failed(text)) => {
            widgets::error_box(ui, &format!("Not saved: {text}"));
            ui.horizontal(|ui| {
                if ui.button("Retry").clicked() {
                    users.unblock();
                }
                if ui.button("Discard my changes").clicked() {
                    users.discard();
                    model.withdraw(JobKind::SaveUsers);
                }
            });
        }
        None => {}
    }
    if !users.over_limit.is_empty() {
        widgets::warning_box(
            ui,
            &format!(
                "The seat table holds more seats than the license grants: {} {} not honoured, and \
                 the next save removes them.",
                users.over_limit.join(", "),
                if users.over_limit.len() == 1 {
                    "is"
                } else {
                    "are"
                }
            ),
        );
    }
    // One line always there, so rows never move under the pointer while ticking.
    ui.horizontal(|ui| {
        ui.set_min_height(20.0);
        if saving || users.unsaved() > 0 {
            ui.spinner();
            ui.label(format!("Saving {} changes…", users.unsaved()));
        }
    });
}

fn add_and_policy(ui: &mut Ui, users: &mut UsersState) {
    ui.horizontal(|ui| {
        let add = &mut users.add;
        ui.label("Add a user:");
        ui.add(
            egui::TextEdit::singleline(&mut add.login)
                .hint_text("login")
                .desired_width(110.0),
        );
        ui.add(
            egui::TextEdit::singleline(&mut add.name)
                .hint_text("name")
                .desired_width(150.0),
        );
        ui.add(
            egui::TextEdit::singleline(&mut add.email)
                .hint_text("e-mail")
                .desired_width(170.0),
        );
        if ui
            .add_enabled(!add.login.trim().is_empty(), egui::Button::new("Add"))
            .clicked()
        {
            let change = Change::Add {
                login: add.login.trim().to_owned(),
                name: add.name.clone(),
                email: add.email.clone(),
            };
            let before = users.unsaved();
            users.edit(change);
            if users.unsaved() > before {
                users.add = AddForm::default();
            }
        }
    });
    let Some(current) = users.effective().map(|d| d.policy) else {
        return;
    };
    // The seat policy is about named seats; other licenses have none to give.
    if !matches!(users.limit(), Some(SeatLimit::Named(_))) {
        return;
    }
    let mut policy = current;
    ui.horizontal(|ui| {
        ui.label("Seat policy:");
        ui.checkbox(
            &mut policy.auto_assign,
            "give a free seat the first time a user is authorised",
        );
        ui.checkbox(
            &mut policy.free_on_disable,
            "free the seat of a disabled user",
        );
    });
    if policy != current {
        users.edit(Change::SetPolicy(policy));
    }
}

fn sort_header(ui: &mut Ui, users: &mut UsersState, label: &str, by: SortBy) {
    let arrow = match (users.sort == by, users.descending) {
        (true, false) => " ⬆",
        (true, true) => " ⬇",
        (false, _) => "",
    };
    if ui
        .add(egui::Button::new(RichText::new(format!("{label}{arrow}")).strong()).frame(false))
        .on_hover_text(format!("Sort by {}", label.to_lowercase()))
        .clicked()
    {
        if users.sort == by {
            users.descending = !users.descending;
        } else {
            users.sort = by;
            users.descending = false;
        }
    }
}

fn table(ui: &mut Ui, users: &mut UsersState) {
    let Some(directory) = users.effective().cloned() else {
        return;
    };
    let can_give = matches!(users.limit(), Some(SeatLimit::Named(_)));
    let rows = users.rows();
    if rows.is_empty() {
        ui.label(if directory.users.is_empty() {
            "No users yet: add one above, or import a CSV file."
        } else {
            "No user matches."
        });
        return;
    }
    let mut edits = Vec::new();
    // The fixed columns take what their contents need; name and e-mail share the rest, so the
    // table fits the window at any size and a long name ends in "…" (the whole shows on hover).
    let text_width = ((ui.available_width() - FIXED_COLUMNS) / 2.0).max(90.0);
    TableBuilder::new(ui)
        .striped(true)
        .cell_layout(Layout::left_to_right(Align::Center))
        .column(Column::exact(64.0))
        .column(Column::exact(text_width).clip(true))
        .column(Column::exact(110.0).clip(true))
        .column(Column::exact(text_width).clip(true))
        .column(Column::exact(96.0))
        .column(Column::remainder().at_least(84.0))
        .auto_shrink([false, false])
        .header(ROW_HEIGHT, |mut header| {
            header.col(|ui| {
                ui.strong("Licensed");
            });
            header.col(|ui| sort_header(ui, users, "Name", SortBy::Name));
            header.col(|ui| sort_header(ui, users, "Login", SortBy::Login));
            header.col(|ui| {
                ui.strong("E-mail");
            });
            header.col(|ui| sort_header(ui, users, "Seat since", SortBy::Assigned));
            header.col(|_| {});
        })
        .body(|body| {
            body.rows(ROW_HEIGHT, rows.len(), |mut row| {
                let Some(user) = directory.users.get(&rows[row.index()]) else {
                    return;
                };
                row.col(|ui| licensed_checkbox(ui, user, can_give, &mut edits));
                row.col(|ui| {
                    crate::gui::bidi::label(ui, &user.name);
                });
                row.col(|ui| {
                    crate::gui::bidi::label(ui, &user.login);
                });
                row.col(|ui| {
                    ui.add(egui::Label::new(&user.email).truncate());
                });
                row.col(|ui| {
                    if let Some(seat) = &user.seat {
                        ui.label(format::short_date(seat.assigned_at))
                            .on_hover_text(format!(
                                "{}, given by {}",
                                format::date(seat.assigned_at),
                                seat.assigned_by
                            ));
                    }
                });
                row.col(|ui| {
                    let edit = ui.small_button("Edit…");
                    if user.disabled {
                        ui.label(RichText::new("off").weak())
                            .on_hover_text("This user is disabled");
                    }
                    if edit.clicked() {
                        edits.push(EditRequest::Open(user.clone()));
                    }
                });
            });
        });
    for request in edits {
        match request {
            EditRequest::Change(change) => users.edit(change),
            EditRequest::Open(user) => {
                users.editing = Some(EditForm {
                    login: user.login,
                    name: user.name,
                    email: user.email,
                    confirm_remove: false,
                });
            }
        }
    }
}

enum EditRequest {
    Change(Change),
    Open(User),
}

fn licensed_checkbox(ui: &mut Ui, user: &User, can_give: bool, edits: &mut Vec<EditRequest>) {
    let mut on = user.seat.is_some();
    let enabled = on || (can_give && !user.disabled);
    let label = format!("Licensed: {}", user.login);
    let response = ui
        .add_enabled(enabled, egui::Checkbox::without_text(&mut on))
        .on_disabled_hover_text(if user.disabled {
            "A disabled user cannot hold a seat."
        } else {
            "No named seats can be given: see the counter above."
        });
    response.widget_info(|| egui::WidgetInfo::selected(egui::Role::CheckBox, enabled, on, &label));
    if response.changed() {
        let login = user.login.clone();
        edits.push(EditRequest::Change(if on {
            Change::Assign { login }
        } else {
            Change::Unassign { login }
        }));
    }
}

fn edit_dialog(ctx: &egui::Context, users: &mut UsersState) {
    let Some(mut form) = users.editing.take() else {
        return;
    };
    let disabled = users
        .effective()
        .and_then(|d| d.users.get(&form.login))
        .map(|u| u.disabled);
    let Some(disabled) = disabled else { return };
    let mut open = true;
    let mut done: Option<Vec<Change>> = None;
    egui::Window::new(format!("Edit {}", form.login))
        .collapsible(false)
        .resizable(false)
        // Right of the table, clear of the seat counter and the ticks.
        .anchor(egui::Align2::RIGHT_TOP, [-24.0, 96.0])
        .open(&mut open)
        .show(ctx, |ui| {
            egui::Grid::new("edit-user").num_columns(2).show(ui, |ui| {
                ui.label("Name");
                ui.text_edit_singleline(&mut form.name);
                ui.end_row();
                ui.label("E-mail");
                ui.text_edit_singleline(&mut form.email);
                ui.end_row();
            });
            ui.horizontal(|ui| {
                if ui.button("Save").clicked() {
                    done = Some(vec![Change::Edit {
                        login: form.login.clone(),
                        name: form.name.clone(),
                        email: form.email.clone(),
                    }]);
                }
                let toggle = if disabled { "Enable" } else { "Disable" };
                if ui.button(toggle).clicked() {
                    done = Some(vec![Change::SetDisabled {
                        login: form.login.clone(),
                        disabled: !disabled,
                    }]);
                }
                if form.confirm_remove {
                    if ui
                        .button(RichText::new(format!("Remove {} for good", form.login)))
                        .clicked()
                    {
                        done = Some(vec![Change::Remove {
                            login: form.login.clone(),
                        }]);
                    }
                } else if ui.button("Remove…").clicked() {
                    form.confirm_remove = true;
                }
            });
        });
    match done {
        Some(changes) => {
            for change in changes {
                users.edit(change);
            }
        }
        None if open && !ctx.input(|i| i.key_pressed(egui::Key::Escape)) => {
            users.editing = Some(form);
        }
        None => {}
    }
}
