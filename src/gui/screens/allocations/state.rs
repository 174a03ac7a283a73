//! The Allocations screen's state: the overview last loaded, the quantity shown, share edits
//! not yet saved, and the add-a-group and add-a-member fields. Edits become changes here, so
//! the panel only draws.

use std::collections::BTreeMap;
use std::sync::Arc;

use tenure_client::Overview;
use tenure_client::product_db::{AllocationChange, GroupKind};
use tenure_core::allocation::Share;

/// What the Allocations screen holds between frames.
#[derive(Debug, Clone)]
pub struct AllocationsState {
    /// The overview last loaded, or why it could not be.
    pub overview: Option<Result<Arc<Overview>, String>>,
    /// The quantity shown (an index into the overview's quantities).
    pub quantity: usize,
    /// Share edits not yet saved, by group: as typed (a count, "remaining" or "none").
    pub edits: BTreeMap<String, String>,
    /// The new group's name.
    pub new_group: String,
    /// The new group's kind.
    pub new_kind: GroupKind,
    /// The tenant the new group lies in ("" for the default tenant).
    pub new_in: String,
    /// A login typed to add to a group, by group.
    pub new_member: BTreeMap<String, String>,
    /// A tenant's admin: see and change only this tenant.
    pub acting_tenant: Option<String>,
    /// The group whose Remove group was clicked: asked to confirm.
    pub removing: Option<String>,
    /// Line priorities as typed and not yet set, by group.
    pub priorities: BTreeMap<String, i64>,
    /// A priority the admin asked to set: (group, priority).
    pub(super) set_priority: Option<(String, i64)>,
    /// Another license's key, typed to stack it.
    pub stack_key: String,
    /// Reload when the screen is next shown.
    pub stale: bool,
    /// The overview a tenant's admin sees: (the overview it came from, the tenant, the view).
    tenant_view: Option<(Arc<Overview>, String, Arc<Overview>)>,
    /// Each group row's height when last drawn: a row out of view takes it without drawing.
    pub(super) group_heights: Vec<f32>,
}

impl Default for AllocationsState {
    fn default() -> Self {
        Self {
            overview: None,
            quantity: 0,
            edits: BTreeMap::new(),
            new_group: String::new(),
            new_kind: GroupKind::Role,
            new_in: String::new(),
            new_member: BTreeMap::new(),
            acting_tenant: None,
            removing: None,
            priorities: BTreeMap::new(),
            set_priority: None,
            stack_key: String::new(),
            stale: true,
            group_heights: Vec::new(),
            tenant_view: None,
        }
    }
}

/// A share as typed: `Ok(None)` ends the group's share.
pub fn parse_share(text: &str) -> Result<Option<Share>, String> {
    match text.trim().to_lowercase().as_str() {
        "" | "none" => Ok(None),
        other => other.parse::<Share>().map(Some),
    }
}

impl AllocationsState {
    /// The overview, when loaded.
    pub fn loaded(&self) -> Option<&Arc<Overview>> {
        self.overview.as_ref().and_then(|o| o.as_ref().ok())
    }

    /// The overview as the admin acting now sees it (a tenant's admin: that tenant alone), kept
    /// until the overview or the tenant changes, so no frame copies 10,000 devices.
    pub fn view(&mut self) -> Option<Arc<Overview>> {
        let loaded = self.loaded()?.clone();
        let Some(tenant) = self.acting_tenant.clone() else {
            return Some(loaded);
        };
        if let Some((source, for_tenant, view)) = &self.tenant_view
            && Arc::ptr_eq(source, &loaded)
            && *for_tenant == tenant
        {
            return Some(view.clone());
        }
        let view = Arc::new((*loaded).clone().for_tenant(&tenant));
        self.tenant_view = Some((loaded, tenant, view.clone()));
        Some(view)
    }

    /// The share edits for `quantity` as changes, or the first one that cannot be read.
    pub fn share_changes(&self, quantity: &str) -> Result<Vec<AllocationChange>, String> {
        self.edits
            .iter()
            .map(|(group, text)| {
                let share = parse_share(text).map_err(|e| format!("{group}: {e}"))?;
                Ok(AllocationChange::Allocate {
                    quantity: quantity.to_owned(),
                    group: group.clone(),
                    share,
                })
            })
            .collect()
    }

    /// The add-a-group fields as a change (a tenant's admin adds to their own tenant).
    pub fn new_group_change(&self) -> Option<AllocationChange> {
        let name = self.new_group.trim();
        (!name.is_empty()).then(|| AllocationChange::AddGroup {
            name: name.to_owned(),
            kind: self.new_kind,
            tenant: self
                .acting_tenant
                .clone()
                .unwrap_or_else(|| self.new_in.clone()),
        })
    }

    /// A new overview arrived: edits to shares that now read as typed are done.
    pub fn on_loaded(&mut self, overview: Result<Arc<Overview>, String>) {
        if let Ok(loaded) = &overview {
            self.quantity = self.quantity.min(loaded.quantities.len().saturating_sub(1));
            if let Some(quantity) = loaded.quantities.get(self.quantity) {
                let standing: BTreeMap<&str, String> = quantity
                    .lines
                    .iter()
                    .filter_map(|l| Some((l.group.as_deref()?, l.share?.to_string())))
                    .collect();
                self.edits.retain(|group, text| {
                    let typed = parse_share(text).ok().flatten().map(|s| s.to_string());
                    typed.as_deref() != standing.get(group.as_str()).map(String::as_str)
                });
            }
        }
        self.overview = Some(overview);
        self.stale = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_shares_become_changes_or_say_what_is_wrong() {
        let mut state = AllocationsState::default();
        state.edits.insert("Designers".into(), "6".into());
        state.edits.insert("Reviewers".into(), "remaining".into());
        state.edits.insert("Interns".into(), "none".into());
        let changes = state.share_changes("connections").unwrap();
        assert_eq!(changes.len(), 3);
        assert!(changes.contains(&AllocationChange::Allocate {
            quantity: "connections".into(),
            group: "Designers".into(),
            share: Some(Share::Fixed(6)),
        }));
        state.edits.insert("Ops".into(), "six".into());
        let e = state.share_changes("connections").unwrap_err();
        assert!(e.starts_with("Ops: "), "{e}");
    }

    #[test]
    fn a_tenant_admin_adds_groups_to_their_own_tenant() {
        let mut state = AllocationsState {
            new_group: " Designers ".into(),
            new_in: "South".into(),
            acting_tenant: Some("North".into()),
            ..AllocationsState::default()
        };
        assert_eq!(
            state.new_group_change(),
            Some(AllocationChange::AddGroup {
                name: "Designers".into(),
                kind: GroupKind::Role,
                tenant: "North".into(),
            })
        );
        state.new_group.clear();
        assert_eq!(state.new_group_change(), None);
    }
}
