//! Allocations: each quantity's pool (the licenses it stacks, with their dates), its shares
//! among groups and tenants with "used / allocated" bars and an editable count, the members of
//! each group, and the devices with their type and last contact. The counter stays in view; a
//! pool smaller than its shares says who was cut. Only the visible device rows are drawn.

use egui::{RichText, Ui};
use tenure_client::QuantityView;
use tenure_client::product_db::GroupKind;

mod devices;
mod groups;
mod shares;
pub mod state;

use crate::gui::chrome;
use crate::gui::model::Model;
use crate::gui::widgets;
use crate::gui::worker::{Event, Job, JobKind};
use state::AllocationsState;

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
            && !model.is_busy(JobKind::LoadAllocations)
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
    shares::shares_ui(ui, model, state, &overview, quantity);
    ui.separator();
    groups::groups_ui(ui, model, state, &overview);
    ui.separator();
    devices::devices_ui(ui, &overview);
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
