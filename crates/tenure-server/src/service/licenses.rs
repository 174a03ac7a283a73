//! Licenses as the vendor's staff handle them: created with their terms (a key drawn at
//! random, stored only as a keyed hash), listed, revoked — each recorded in the usage log.

use chrono::{DateTime, Utc};
use tenure_core::protocol::{
    CheckFields as _, CreateLicenseRequest, CreateLicenseResponse, OverdraftDay, limits,
};
use tenure_core::{Binding, LicenseKey, LicenseTerms};

use super::{Denial, Vendor, check_text};
use crate::store::new_id;

/// The license operations of a [`Vendor`] (`vendor.licenses()`).
pub struct Licenses<'v> {
    pub(super) vendor: &'v Vendor,
}

/// One license as `license show` tells it: the license, the overdraft its workstation
/// reported, and the lost laptops' borrowed seats this server let come back early.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct LicenseDetail {
    /// As `list` shows it.
    pub license: ListedLicense,
    /// Seats given beyond the count, per day reported.
    pub overdraft: Vec<OverdraftDay>,
    /// Borrowed seats whose revocation this server confirmed, newest first.
    pub early_returns: Vec<crate::store::EarlyReturn>,
    /// Its moves since `since` that count against its limit, newest first.
    pub moves: Vec<crate::store::RebindRow>,
    /// Its latest usage events (activations, validations, refusals, staff changes).
    pub events: Vec<crate::store::EventRow>,
}

/// How many usage events a license's page shows.
const EVENTS_SHOWN: u32 = 20;

/// A license as the vendor's lists show it: never its key, only the key's last four digits.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ListedLicense {
    /// Server-side id.
    pub id: String,
    /// The owning account.
    pub account: String,
    /// The key's last four digits, masked (`••••-••••-••12-3`).
    pub key: String,
    /// What was sold.
    pub terms: LicenseTerms,
    /// Revoked licenses are refused.
    pub revoked: bool,
    /// Where it is bound, once activated.
    pub binding: Option<Binding>,
    /// Its last validation.
    pub last_validated_at: Option<DateTime<Utc>>,
}

impl Licenses<'_> {
    /// Creates a license with `request.terms` for `request.account`; returns its id and key.
    pub async fn create(
        &self,
        request: &CreateLicenseRequest,
    ) -> Result<CreateLicenseResponse, Denial> {
        self.create_as(request, None).await
    }

    /// As [`Licenses::create`], recorded in the usage log as done `by` (`staff ana`).
    pub async fn create_as(
        &self,
        request: &CreateLicenseRequest,
        by: Option<&str>,
    ) -> Result<CreateLicenseResponse, Denial> {
        let vendor = self.vendor;
        let (account, terms) = (request.account.as_str(), &request.terms);
        terms.check().map_err(|e| Denial::Invalid(e.to_string()))?;
        let bound = vendor.grace_bound();
        if terms.max_grace_days > bound {
            return Err(Denial::Invalid(format!(
                "this server's signing key may give at most {bound} days of offline grace (its certificate's bound), and the license asks for up to {}: lower the most grace days to {bound} or fewer, or certify the key for more (tenure-server key certify --max-grace-days)",
                terms.max_grace_days
            )));
        }
        check_text("account name", account, limits::ACCOUNT_NAME_CHARS)?;
        terms
            .check_fields()
            .map_err(|e| Denial::Invalid(e.to_string()))?;
        if vendor.store.account(account).await?.is_none() {
            return Err(Denial::NotFound(format!(
                "there is no account named {account:?}: create it first (tenure-server account create NAME)"
            )));
        }
        // 10^12 keys: a collision is rare, and the UNIQUE constraint catches it; draw again.
        for _ in 0..8 {
            let mut random = [0u8; 12];
            let _ = getrandom::fill(&mut random);
            let key = LicenseKey::from_random_digits(random);
            let id = new_id("lic");
            if vendor
                .store
                .insert_license(
                    &id,
                    &vendor.hasher.hash(&key.digits()),
                    &crate::keyhash::last4(&key.digits()),
                    account,
                    terms,
                    vendor.now(),
                )
                .await?
            {
                let detail = match by {
                    Some(by) => format!("{account} by {by}"),
                    None => account.to_owned(),
                };
                vendor
                    .record(Some(&id), "license", "created", &detail)
                    .await;
                let data = serde_json::json!({
                    "license_id": id,
                    "account": account,
                    "customer": terms.customer,
                });
                vendor.emit(super::Event::LicenseCreated, data, None).await;
                return Ok(CreateLicenseResponse {
                    id,
                    key: key.to_string(),
                });
            }
        }
        Err(Denial::Sign("could not draw an unused license key".into()))
    }

    /// Every license, or one account's, oldest first.
    pub async fn list(&self, account: Option<&str>) -> Result<Vec<ListedLicense>, Denial> {
        let rows = self.vendor.store.list_licenses(account).await?;
        Ok(rows.into_iter().map(listed).collect())
    }

    /// One license as `list` shows it, with the overdraft its workstation reported and the
    /// early returns this server confirmed, from `since`.
    pub async fn show(
        &self,
        license_id: &str,
        since: chrono::NaiveDate,
    ) -> Result<LicenseDetail, Denial> {
        check_text("license id", license_id, limits::LICENSE_ID_CHARS)?;
        let store = &self.vendor.store;
        let Some(row) = store.license_by_id(license_id).await? else {
            return Err(Denial::NotFound(format!(
                "no license has the id {license_id:?}: list them with tenure-server license list"
            )));
        };
        let overdraft = store.overdraft_since(license_id, since).await?;
        let from = since.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc();
        let early_returns = store.early_returns_since(license_id, from).await?;
        let moves = store.rebinds_since(license_id, from).await?;
        let events = store
            .latest_events(license_id, EVENTS_SHOWN, self.vendor.now())
            .await?;
        Ok(LicenseDetail {
            license: listed(row),
            overdraft,
            early_returns,
            moves,
            events,
        })
    }

    /// Moves the license's last day to `expires` (later than it is now): its workstations get
    /// the new terms at their next validation. Recorded as done `by`.
    pub async fn extend_as(
        &self,
        license_id: &str,
        expires: chrono::NaiveDate,
        by: &str,
    ) -> Result<(), Denial> {
        let vendor = self.vendor;
        check_text("license id", license_id, limits::LICENSE_ID_CHARS)?;
        let Some(row) = vendor.store.license_by_id(license_id).await? else {
            return Err(Denial::NotFound(format!(
                "no license has the id {license_id:?}"
            )));
        };
        let before = row.terms.validity.expires;
        if expires <= before {
            return Err(Denial::Invalid(format!(
                "the license ends on {before} already: give a later day to extend it"
            )));
        }
        let mut terms = row.terms;
        terms.validity.expires = expires;
        terms.check().map_err(|e| Denial::Invalid(e.to_string()))?;
        vendor.store.set_terms(license_id, &terms).await?;
        vendor.forget(license_id);
        vendor
            .record(
                Some(license_id),
                "license",
                "extended",
                &format!("from {before} to {expires} by {by}"),
            )
            .await;
        Ok(())
    }

    /// Forgives the license's moves that count against its limit: it may move its full limit
    /// again (a customer who moved servers more than planned). Returns how many were forgiven.
    pub async fn reset_moves_as(&self, license_id: &str, by: &str) -> Result<u64, Denial> {
        let vendor = self.vendor;
        check_text("license id", license_id, limits::LICENSE_ID_CHARS)?;
        if vendor.store.license_by_id(license_id).await?.is_none() {
            return Err(Denial::NotFound(format!(
                "no license has the id {license_id:?}"
            )));
        }
        let forgiven = vendor
            .store
            .forgive_rebinds(license_id, vendor.now())
            .await?;
        vendor
            .record(
                Some(license_id),
                "license",
                "moves_reset",
                &format!("{forgiven} moves forgiven by {by}"),
            )
            .await;
        Ok(forgiven)
    }

    /// Revokes the license `license_id`: refused from its next validation on.
    pub async fn revoke(&self, license_id: &str) -> Result<(), Denial> {
        self.revoke_as(license_id, "the vendor").await
    }

    /// As [`Licenses::revoke`], recording who revoked it (`staff ana` from the console).
    pub async fn revoke_as(&self, license_id: &str, by: &str) -> Result<(), Denial> {
        let vendor = self.vendor;
        check_text("license id", license_id, limits::LICENSE_ID_CHARS)?;
        if !vendor.store.revoke(license_id).await? {
            return Err(Denial::NotFound(format!(
                "no license has the id {license_id:?}"
            )));
        }
        vendor.forget(license_id);
        vendor
            .record(Some(license_id), "license", "revoked", &format!("by {by}"))
            .await;
        let data = serde_json::json!({ "license_id": license_id, "by": by });
        vendor.emit(super::Event::LicenseRevoked, data, None).await;
        Ok(())
    }

    /// Page `page` (from 1) of the licenses whose id, account or customer contains `query`
    /// (every license when it is empty), newest first, [`PAGE_SIZE`] to a page.
    pub async fn search(&self, query: &str, page: u64) -> Result<LicensePage, Denial> {
        let query = query.trim();
        check_text_or_empty(query)?;
        let page = page.max(1);
        let offset = (page - 1).saturating_mul(u64::from(PAGE_SIZE));
        let found = self
            .vendor
            .store
            .search_licenses(query, PAGE_SIZE, offset)
            .await?;
        Ok(LicensePage {
            licenses: found.licenses.into_iter().map(listed).collect(),
            total: found.total,
            more: found.more,
            page,
            pages: found.total.div_ceil(u64::from(PAGE_SIZE)).max(1),
            older: found.older,
        })
    }
}

/// Licenses to a page of [`Licenses::search`].
pub const PAGE_SIZE: u32 = 50;

/// One page of a license search.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct LicensePage {
    /// The licenses on this page.
    pub licenses: Vec<ListedLicense>,
    /// How many match in all, up to [`crate::store::SEARCH_COUNT_CAP`].
    pub total: u64,
    /// More than [`crate::store::SEARCH_COUNT_CAP`] match: `total` and `pages` are lower
    /// bounds.
    pub more: bool,
    /// This page, from 1.
    pub page: u64,
    /// How many pages there are (at least 1).
    pub pages: u64,
    /// A page follows this one.
    pub older: bool,
}

/// A search query: any text a name may hold, or nothing.
fn check_text_or_empty(query: &str) -> Result<(), Denial> {
    if query.is_empty() {
        return Ok(());
    }
    check_text("search", query, limits::CUSTOMER_CHARS)
}

/// A stored license as the vendor's lists show it.
fn listed(row: crate::store::LicenseRow) -> ListedLicense {
    ListedLicense {
        key: crate::keyhash::masked(row.key_last4.as_deref().unwrap_or_default()),
        id: row.id,
        account: row.account,
        terms: row.terms,
        revoked: row.revoked,
        binding: row.binding,
        last_validated_at: row.last_validated_at,
    }
}
