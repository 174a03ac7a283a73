//! The groups and their members: a click takes a member out, a login adds one, Remove group
//! asks first; and the fields that add a group. A group out of the acting admin's scope is
//! shown, not offered for change.

use egui::{RichText, Ui};
use tenure_client::Overview;
use tenure_client::product_db::{AllocationChange, GroupKind};

use super::ROW_HEIGHT;
use super::state::AllocationsState;
use crate::gui::model::Model;
use crate::gui::worker::{Job, JobKind};

pub(super) fn groups_ui(
    ui: &mut Ui,
    model: &mut Model,
    state: &mut AllocationsState,
    overview: &Overview,
) {
    let busy = model.is_busy(JobKind::Allocations);
    let version = overview.book.version.number;
    ui.label(RichText::new("Groups and members").strong());
    let mut job = None;
    let groups: Vec<_> = overview.book.groups.values().collect();
    state.group_heights.resize(groups.len(), ROW_HEIGHT);
    egui::ScrollArea::vertical()
        .id_salt("groups-scroll")
        .max_height(160.0)
        .show_viewport(ui, |ui, viewport| {
            let top = ui.min_rect().top();
            for (i, group) in groups.iter().enumerate() {
                // A row out of view takes the height it had when last drawn; only the rows
                // in view are drawn (a fleet has hundreds of groups, each a wrapped line).
                let y = ui.cursor().top() - top;
                let height = state.group_heights[i];
                if y + height < viewport.min.y || y > viewport.max.y {
                    ui.allocate_space(egui::vec2(ui.available_width(), height));
                    continue;
                }
                let drawn = ui.horizontal_wrapped(|ui| group_row(ui, state, overview, group, busy));
                if let Some(changes) = drawn.inner {
                    job = Some(changes);
                }
                state.group_heights[i] = drawn.response.rect.height();
            }
        });
    ui.horizontal_wrapped(|ui| {
        if let Some(changes) = new_group_row(ui, state, overview, busy) {
            job = Some(changes);
        }
    });
    if let Some((group, priority)) = state.set_priority.take() {
        model.request(Job::GroupPriority { group, priority });
    }
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
pub(super) fn in_scope(acting: Option<&str>, group: &tenure_client::product_db::Group) -> bool {
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
    priority_field(ui, state, group, busy);
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

/// A group's place in the line for a concurrent seat: typed, then set.
fn priority_field(
    ui: &mut Ui,
    state: &mut AllocationsState,
    group: &tenure_client::product_db::Group,
    busy: bool,
) {
    let label = ui.label("line priority");
    let typed = state
        .priorities
        .entry(group.name.clone())
        .or_insert(group.priority);
    ui.add(egui::DragValue::new(typed).range(-1000..=1000))
        .labelled_by(label.id)
        .on_hover_text(
            "A waiter of a higher-priority group is ahead in line for a concurrent seat",
        );
    if *typed != group.priority
        && ui
            .add_enabled(!busy, egui::Button::new("Set priority"))
            .clicked()
    {
        state.set_priority = Some((group.name.clone(), *typed));
    }
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
