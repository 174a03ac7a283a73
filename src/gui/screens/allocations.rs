//! Allocations: each quantity's pool (the licenses it stacks, with their dates), its shares
//! among groups and tenants with "used / allocated" bars and an editable count, the members of
//! each group, and the devices with their type and last contact. The counter stays in view; a
//! pool smaller than its shares says who was cut. Only the visible device rows are drawn.

use egui::{RichText, Ui};
use egui_extras::{Column, TableBuilder};
use tenure_client::product_db::{AllocationChange, GroupKind};
use tenure_client::{Overview, QuantityView, ShareLine};

use super::allocations_state::AllocationsState;
use crate::gui::chrome;
use crate::gui::format;
use crate::gui::model::Model;
use crate::gui::widgets;
use crate::gui::worker::{Event, Job, JobKind};

const ROW_HEIGHT: f32 = 24.0;

/// The Allocations screen: the overview as loaded, the shares being edited, its forms.
#[derive(Debug, Default)]
pub struct Allocations {
    /// Its state.
    pub state: AllocationsState,
}

impl Allocations {
    /// Draws the screen.
    pub fn ui(&mut self, ui: &mut Ui, model: &mut Model) {
        allocations_ui(ui, model, &mut self.state);
    }

    /// Follows the worker: the overview it loaded, and jobs that change the pools.
    pub fn on_event(&mut self, event: &Event) {
        match event {
            Event::Allocations(overview) => self.state.on_loaded(overview.clone()),
            Event::Finished { kind, .. } if kind.changes_the_license() => self.state.stale = true,
            // A device registered or a plan changed by another process.
            Event::DatabaseChanged => self.state.stale = true,
            _ => {}
        }
    }

    /// Loads the overview when the screen is shown and needs it.
    pub fn jobs(&mut self, shown: bool, model: &mut Model) {
        if shown
            && (self.state.overview.is_none() || self.state.stale)
            && !model.is_busy(JobKind::Allocations)
        {
            self.state.stale = false;
            model.request(Job::LoadAllocations);
        }
    }
}

fn allocations_ui(ui: &mut Ui, model: &mut Model, state: &mut AllocationsState) {
    ui.horizontal(|ui| {
        ui.label(RichText::new("Allocations").size(17.0).strong());
        ui.add_space(12.0);
        acting_as(ui, state);
        if ui.button("Refresh").clicked() {
            model.request(Job::LoadAllocations);
        }
    });
    if chrome::no_database(ui, model, "groups, allocations and devices live") {
        return;
    }
    match &state.overview {
        Some(Ok(_)) => {}
        Some(Err(e)) => {
            widgets::error_box(ui, e);
            return;
        }
        None => {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label("Loading allocations…");
            });
            return;
        }
    }
    let Some(overview) = state.view() else {
        return;
    };
    if overview.quantities.is_empty() {
        ui.label("No license yet: its quantities appear here once one is activated.");
        return;
    }
    ui.horizontal_wrapped(|ui| {
        for (i, q) in overview.quantities.iter().enumerate() {
            // A tenant's admin sees what the tenant was given, not the whole pool.
            let size = match state.acting_tenant.as_deref() {
                None => q.pool.size,
                Some(tenant) => tenant_share(q, tenant),
            };
            let label = format!("{} {size}", q.pool.quantity);
            if ui.selectable_label(state.quantity == i, label).clicked() {
                state.quantity = i;
                state.edits.clear();
            }
        }
    });
    let index = state.quantity.min(overview.quantities.len() - 1);
    let quantity = &overview.quantities[index];
    pool_ui(ui, quantity, state.acting_tenant.as_deref());
    if state.acting_tenant.is_none() {
        stack_ui(ui, model, state);
    }
    // Shares and groups scroll within bounds, so the devices table keeps its place below.
    egui::ScrollArea::vertical()
        .id_salt("shares-scroll")
        .max_height(240.0)
        .show(ui, |ui| {
            shares_ui(ui, model, state, &overview, quantity);
        });
    ui.separator();
    egui::ScrollArea::vertical()
        .id_salt("groups-scroll")
        .max_height(160.0)
        .show(ui, |ui| groups_ui(ui, model, state, &overview));
    ui.separator();
    devices_ui(ui, &overview);
}

fn acting_as(ui: &mut Ui, state: &mut AllocationsState) {
    let tenants: Vec<String> = state
        .loaded()
        .map(|o| {
            o.book
                .groups
                .values()
                .filter(|g| g.kind == GroupKind::Tenant)
                .map(|g| g.name.clone())
                .collect()
        })
        .unwrap_or_default();
    let acting = &mut state.acting_tenant;
    let shown = acting
        .as_deref()
        .map_or("the default tenant's admin".to_owned(), |t| {
            format!("{t}'s admin")
        });
    let label = ui.label("Acting as");
    egui::ComboBox::from_id_salt("acting-as")
        .selected_text(shown)
        .show_ui(ui, |ui| {
            ui.selectable_value(acting, None, "the default tenant's admin");
            for tenant in tenants {
                let label = format!("{tenant}'s admin");
                ui.selectable_value(acting, Some(tenant), label);
            }
        })
        .response
        .labelled_by(label.id);
}

/// The counter: the whole pool for the default tenant's admin; for a tenant's admin, what the
/// tenant was given (the rest of the pool is not theirs to see).
fn counter(quantity: &QuantityView, acting: Option<&str>) -> String {
    let pool = &quantity.pool;
    let scope = acting.unwrap_or_default();
    let given_to_groups: u32 = quantity
        .lines
        .iter()
        .filter(|l| l.tenant == scope && l.group.is_some())
        .map(|l| l.allocated)
        .sum();
    let used: u32 = quantity
        .lines
        .iter()
        .filter(|l| l.tenant == scope)
        .map(|l| l.used)
        .sum();
    match acting {
        None => format!(
            "{used} of {} {} in use · {given_to_groups} given to groups",
            pool.size, pool.quantity
        ),
        Some(tenant) => {
            let given = tenant_share(quantity, tenant);
            format!(
                "{used} of the {given} {} given to {tenant} in use · {given_to_groups} given to its groups",
                pool.quantity
            )
        }
    }
}

/// What `tenant` was given of the quantity.
fn tenant_share(quantity: &QuantityView, tenant: &str) -> u32 {
    quantity
        .lines
        .iter()
        .find(|l| l.tenant.is_empty() && l.group.as_deref() == Some(tenant))
        .map_or(0, |l| l.allocated)
}

fn pool_ui(ui: &mut Ui, quantity: &QuantityView, acting: Option<&str>) {
    let pool = &quantity.pool;
    // The counter has a line of its own and stays at the top of the screen.
    ui.label(RichText::new(counter(quantity, acting)).size(15.0).strong());
    // The licenses behind the whole pool are the default tenant's business.
    let grants = if acting.is_none() {
        &pool.grants[..]
    } else {
        &[]
    };
    for grant in grants {
        ui.label(format!(
            "License {}: {} {} ({}), {} to {}",
            grant.license_id,
            grant.count,
            pool.quantity,
            pool.kind.word(),
            grant.validity.starts,
            grant.validity.expires
        ));
    }
    let cut: Vec<String> = quantity
        .lines
        .iter()
        .filter(|l| l.cut)
        .map(|l| {
            format!(
                "{} gets {} of {}",
                l.group.as_deref().unwrap_or_default(),
                l.allocated,
                l.share.map(|s| s.to_string()).unwrap_or_default()
            )
        })
        .collect();
    if !cut.is_empty() {
        widgets::warning_box(
            ui,
            &format!(
                "The pool is smaller than the shares given: {} (the latest shares give way first).",
                cut.join(", ")
            ),
        );
    }
}

/// Another license bought later: its key, stacked on this database.
fn stack_ui(ui: &mut Ui, model: &mut Model, state: &mut AllocationsState) {
    let busy = model.is_busy(JobKind::Allocations);
    ui.horizontal(|ui| {
        let label = ui.label("Stack another license");
        let key = &mut state.stack_key;
        ui.add(
            egui::TextEdit::singleline(key)
                .desired_width(160.0)
                .hint_text("1234-5678-9012-3"),
        )
        .labelled_by(label.id)
        .on_hover_text(
            "The key of a license bought later: its counts add to the pools while it is valid",
        );
        let ready = tenure_core::LicenseKey::parse(key).is_ok();
        if ui
            .add_enabled(!busy && ready, egui::Button::new("Stack"))
            .clicked()
        {
            let key = std::mem::take(key);
            model.request(Job::StackLicense(key));
        }
    });
}

/// Whether a line says anything: a part no group was given shows only beside groups that were
/// (a tenant with no groups of its own would show its share twice), and never when it is
/// empty and unused.
fn shows_line(quantity: &QuantityView, line: &ShareLine) -> bool {
    if line.group.is_some() {
        return true;
    }
    let empty = line.allocated == 0 && line.used == 0;
    let beside_groups = quantity
        .lines
        .iter()
        .any(|l| l.group.is_some() && l.tenant == line.tenant);
    !empty && (line.tenant.is_empty() || beside_groups)
}

fn line_name(line: &ShareLine) -> String {
    match (&line.group, line.tenant.as_str()) {
        (Some(group), "") => group.clone(),
        (Some(group), tenant) => format!("{group} ({tenant})"),
        (None, "") => "Not given to any group".to_owned(),
        // Part of the tenant's own line above it, not another share beside it.
        (None, tenant) => format!("↳ {tenant}, not given to its groups"),
    }
}

/// The editable share of `group`; an edit equal to what stands is no edit.
fn share_field(
    ui: &mut Ui,
    state: &mut AllocationsState,
    group: &str,
    share: Option<tenure_core::allocation::Share>,
    label: egui::Id,
) {
    let standing = share.map(|s| s.to_string()).unwrap_or_default();
    let text = state
        .edits
        .entry(group.to_owned())
        .or_insert_with(|| standing.clone());
    ui.add_sized(
        [110.0, 20.0],
        egui::TextEdit::singleline(text).hint_text("5 or remaining"),
    )
    .labelled_by(label)
    .on_hover_text("A count, \"remaining\", or \"none\" to end the share");
    if *text == standing {
        state.edits.remove(group);
    }
}

fn used_bar(ui: &mut Ui, used: u32, allocated: u32) {
    // A bar needs no more precision than f32 gives.
    #[expect(clippy::cast_precision_loss, reason = "a bar's fraction")]
    let fraction = if allocated == 0 {
        0.0
    } else {
        (used as f32 / allocated as f32).min(1.0)
    };
    ui.add(
        egui::ProgressBar::new(fraction)
            .desired_width(180.0)
            .text(format!("{used} / {allocated}")),
    );
}

fn shares_ui(
    ui: &mut Ui,
    model: &mut Model,
    state: &mut AllocationsState,
    overview: &Overview,
    quantity: &QuantityView,
) {
    let busy = model.is_busy(JobKind::Allocations);
    let version = overview.book.version.number;
    let acting = state.acting_tenant.clone();
    let mut unshared: Vec<_> = overview
        .book
        .groups
        .values()
        .filter(|g| {
            in_scope(acting.as_deref(), g)
                && !quantity
                    .lines
                    .iter()
                    .any(|l| l.group.as_deref() == Some(g.name.as_str()))
        })
        .collect();
    // Each tenant right before its own groups.
    unshared.sort_by_key(|g| {
        let tenant = overview.book.tenant_of(&g.name);
        (
            tenant.to_owned(),
            g.kind != GroupKind::Tenant,
            g.name.clone(),
        )
    });
    egui::Grid::new("shares")
        .striped(true)
        .num_columns(4)
        .show(ui, |ui| {
            for heading in ["Group", "Kind", "Share", "Used / allocated"] {
                ui.label(RichText::new(heading).strong());
            }
            ui.end_row();
            let shown = quantity.lines.iter().filter(|l| shows_line(quantity, l));
            for line in shown {
                let name = ui.label(line_name(line));
                ui.label(line.kind.map_or("", GroupKind::word));
                let editable = acting.as_deref().is_none_or(|t| line.tenant == t);
                match (&line.group, line.share) {
                    (Some(group), share) if editable => {
                        share_field(ui, state, group, share, name.id);
                    }
                    (Some(_), Some(share)) => {
                        ui.label(share.to_string())
                            .on_hover_text("Given by the default tenant's admin");
                    }
                    _ => {
                        ui.label("");
                    }
                }
                used_bar(ui, line.used, line.allocated);
                ui.end_row();
            }
            // Groups with no share of this quantity yet: a field to give them one.
            for group in unshared {
                let name = ui.label(line_name(&ShareLine {
                    group: Some(group.name.clone()),
                    kind: Some(group.kind),
                    tenant: group.tenant.clone(),
                    share: None,
                    allocated: 0,
                    used: 0,
                    cut: false,
                }));
                ui.label(group.kind.word());
                share_field(ui, state, &group.name, None, name.id);
                ui.label("no share yet");
                ui.end_row();
            }
        });
    let unsaved = state.edits.len();
    ui.horizontal(|ui| {
        let label = if unsaved == 0 {
            "Save shares".to_owned()
        } else {
            format!(
                "Save {}",
                format::plural(i64::try_from(unsaved).unwrap_or(0), "share")
            )
        };
        if ui
            .add_enabled(unsaved > 0 && !busy, egui::Button::new(label))
            .clicked()
        {
            match state.share_changes(&quantity.pool.quantity) {
                Ok(changes) => model.request(Job::SaveAllocations {
                    expected: version,
                    changes,
                    tenant: state.acting_tenant.clone(),
                }),
                Err(e) => {
                    widgets::error_box(ui, &e);
                }
            }
        }
        if unsaved > 0 && ui.button("Discard").clicked() {
            state.edits.clear();
            // The refusal was about the edits just dropped.
            model.withdraw(JobKind::Allocations);
        }
    });
}

fn groups_ui(ui: &mut Ui, model: &mut Model, state: &mut AllocationsState, overview: &Overview) {
    let busy = model.is_busy(JobKind::Allocations);
    let version = overview.book.version.number;
    ui.label(RichText::new("Groups and members").strong());
    let mut job = None;
    for group in overview.book.groups.values() {
        ui.horizontal_wrapped(|ui| {
            if let Some(changes) = group_row(ui, state, overview, group, busy) {
                job = Some(changes);
            }
        });
    }
    ui.horizontal(|ui| {
        if let Some(changes) = new_group_row(ui, state, overview, busy) {
            job = Some(changes);
        }
    });
    if let Some(changes) = job {
        model.request(Job::SaveAllocations {
            expected: version,
            changes,
            tenant: state.acting_tenant.clone(),
        });
    }
}

/// Whether the acting admin may change `group`: the default tenant's admin any; a tenant's
/// admin only the tenant's own groups, not the tenant itself (the same rule the save applies).
fn in_scope(acting: Option<&str>, group: &tenure_client::product_db::Group) -> bool {
    acting.is_none_or(|t| group.kind != GroupKind::Tenant && group.tenant == t)
}

/// One group: its members (a click takes one out), a login to add, Remove group. A group out of
/// the acting admin's scope is shown, not offered for change.
fn group_row(
    ui: &mut Ui,
    state: &mut AllocationsState,
    overview: &Overview,
    group: &tenure_client::product_db::Group,
    busy: bool,
) -> Option<Vec<AllocationChange>> {
    let mut job = None;
    let place = if group.tenant.is_empty() {
        String::new()
    } else {
        format!(" in {}", group.tenant)
    };
    let name =
        ui.label(RichText::new(format!("{} ({}{place})", group.name, group.kind.word())).strong());
    let members = overview.book.members_of(&group.name);
    if members.is_empty() {
        ui.label("no members");
    }
    if !in_scope(state.acting_tenant.as_deref(), group) {
        for login in members {
            ui.label(login);
        }
        ui.weak("changed by the default tenant's admin");
        return None;
    }
    for login in members {
        if ui
            .add_enabled(!busy, egui::Button::new(format!("{login} ×")).small())
            .on_hover_text(format!("Take {login} out of {}", group.name))
            .clicked()
        {
            job = Some(vec![AllocationChange::RemoveMember(login.to_owned())]);
        }
    }
    let login = state.new_member.entry(group.name.clone()).or_default();
    ui.add(
        egui::TextEdit::singleline(login)
            .desired_width(110.0)
            .hint_text("login"),
    )
    .labelled_by(name.id);
    if ui
        .add_enabled(
            !busy && !login.trim().is_empty(),
            egui::Button::new("Add member"),
        )
        .clicked()
    {
        job = Some(vec![AllocationChange::AddMember {
            group: group.name.clone(),
            login: std::mem::take(login).trim().to_owned(),
        }]);
    }
    // Asked first: Keep sits where Remove group was.
    let removing = &mut state.removing;
    if removing.as_deref() == Some(group.name.as_str()) {
        if ui.button("Keep").clicked() {
            *removing = None;
        }
        if ui
            .add_enabled(!busy, egui::Button::new(format!("Remove {}", group.name)))
            .on_hover_text("Its shares end; its members and devices belong to no group")
            .clicked()
        {
            *removing = None;
            job = Some(vec![AllocationChange::RemoveGroup(group.name.clone())]);
        }
    } else if ui
        .add_enabled(!busy, egui::Button::new("Remove group"))
        .clicked()
    {
        *removing = Some(group.name.clone());
    }
    job
}

/// The add-a-group fields.
fn new_group_row(
    ui: &mut Ui,
    state: &mut AllocationsState,
    overview: &Overview,
    busy: bool,
) -> Option<Vec<AllocationChange>> {
    let mut job = None;
    let label = ui.label("New group");
    ui.add(
        egui::TextEdit::singleline(&mut state.new_group)
            .desired_width(140.0)
            .hint_text("name"),
    )
    .labelled_by(label.id);
    egui::ComboBox::from_id_salt("new-group-kind")
        .selected_text(state.new_kind.word())
        .show_ui(ui, |ui| {
            for kind in [GroupKind::Role, GroupKind::Site, GroupKind::Tenant] {
                ui.selectable_value(&mut state.new_kind, kind, kind.word());
            }
        });
    if state.acting_tenant.is_none() && state.new_kind != GroupKind::Tenant {
        ui.label("in");
        let tenants = overview
            .book
            .groups
            .values()
            .filter(|g| g.kind == GroupKind::Tenant);
        egui::ComboBox::from_id_salt("new-group-tenant")
            .selected_text(if state.new_in.is_empty() {
                "the default tenant"
            } else {
                &state.new_in
            })
            .show_ui(ui, |ui| {
                ui.selectable_value(&mut state.new_in, String::new(), "the default tenant");
                for tenant in tenants {
                    ui.selectable_value(&mut state.new_in, tenant.name.clone(), &tenant.name);
                }
            });
    }
    let change = state.new_group_change();
    if ui
        .add_enabled(!busy && change.is_some(), egui::Button::new("Add group"))
        .clicked()
    {
        state.new_group.clear();
        job = change.map(|c| vec![c]);
    }
    job
}

/// The width the device table's fixed columns take (type, group, state) with the spacing.
const FIXED_DEVICE_COLUMNS: f32 = 90.0 + 120.0 + 190.0 + 4.0 * 8.0;

fn devices_ui(ui: &mut Ui, overview: &Overview) {
    let devices: Vec<_> = overview.book.devices.values().collect();
    ui.label(RichText::new(format!("Devices ({})", devices.len())).strong());
    if devices.is_empty() {
        ui.label("No devices yet: a device appears when it first connects, or when assigned here.");
        return;
    }
    let height = ui.available_height().max(160.0);
    // Type, group and state take what they need; the device's name the rest, ending in "…"
    // (the whole on hover) when long — the table fits the window at any size.
    let name_width = (ui.available_width() - FIXED_DEVICE_COLUMNS).max(120.0);
    TableBuilder::new(ui)
        .striped(true)
        .cell_layout(egui::Layout::left_to_right(egui::Align::Center))
        .column(Column::exact(name_width).clip(true))
        .column(Column::exact(90.0).clip(true))
        .column(Column::exact(120.0).clip(true))
        .column(Column::remainder().at_least(190.0))
        .auto_shrink([false, false])
        .max_scroll_height(height)
        .header(ROW_HEIGHT, |mut header| {
            for heading in ["Device", "Type", "Group", "License · last contact"] {
                header.col(|ui| {
                    ui.label(RichText::new(heading).strong());
                });
            }
        })
        .body(|body| {
            body.rows(ROW_HEIGHT, devices.len(), |mut row| {
                let d = devices[row.index()];
                row.col(|ui| {
                    ui.label(&d.id);
                });
                row.col(|ui| {
                    ui.label(&d.device_type);
                });
                row.col(|ui| {
                    ui.label(if d.group.is_empty() { "—" } else { &d.group });
                });
                row.col(|ui| {
                    let (text, when) = match (d.licensed_at, d.last_contact) {
                        (Some(_), Some(seen)) => ("licensed · seen", Some(seen)),
                        (Some(at), None) => ("licensed", Some(at)),
                        (None, Some(seen)) => ("none free · seen", Some(seen)),
                        (None, None) => ("waiting for its first contact", None),
                    };
                    match when {
                        Some(at) => ui
                            .label(format!("{text} {}", format::short_date_time(at)))
                            .on_hover_text(format::date_time(at)),
                        None => ui.label(text),
                    };
                });
            });
        });
}
