//! What workstations ask by network or file: activate a key, extend the grace, move a license
//! after a restore — each proved by the license's activation credential — and the one answer
//! a replaced credential gets: a signed notice that the license moved.

use chrono::{DateTime, Days, Duration, Utc};
use tenure_core::possession::{ProofAction, is_public_key, verify_proof};
use tenure_core::protocol::{ActivationRequest, GraceExtensionRequest, RebindRequest};
use tenure_core::{Binding, LicenseKey};

use super::validation::proof_holds;
use super::{
    Caller, Channel, Denial, Vendor, action_kind, cannot_activate, check_binding, check_nonce,
    check_text, no_proof,
};
use crate::store::{LicenseRow, RebindRow};
use tenure_core::protocol::limits;

/// The public half of a credential no license has: a proof for an unknown license is checked
/// against it, so it costs what a wrong proof for a real license costs.
static UNKNOWN_HOLDER: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    tenure_core::possession::Credential::from_secret([7; 32]).public_hex()
});

impl Vendor {
    /// Activates a license by key for a binding, registering the holder's credential. An
    /// activated key is activated again only by its own `account` (signed in): that replaces
    /// the credential and, for another binding, counts as a rebind.
    pub async fn activate(
        &self,
        request: &ActivationRequest,
        account: Option<&str>,
    ) -> Result<String, Denial> {
        let caller = account.map_or(Caller::Anyone, Caller::Account);
        self.activate_by(
            &request.key,
            &request.binding,
            &request.nonce,
            &request.holder,
            caller,
            Channel::Online,
        )
        .await
    }

    /// Every refusal to a caller who is not the account takes the same path: one read, a
    /// count in memory, the same answer — whether the key is unknown, in use, revoked, expired
    /// or served by files only. Nothing is written before the answer.
    pub(super) async fn activate_by(
        &self,
        key_text: &str,
        binding: &Binding,
        nonce: &str,
        holder: &str,
        caller: Caller<'_>,
        channel: Channel,
    ) -> Result<String, Denial> {
        check_nonce(nonce)?;
        check_binding(binding)?;
        if !is_public_key(holder) {
            return Err(Denial::Invalid(
                "the activation credential is not an Ed25519 public key in hex".into(),
            ));
        }
        let key = LicenseKey::parse(key_text).map_err(|e| Denial::Invalid(e.to_string()))?;
        let now = self.now();
        let Some(row) = self
            .store
            .license_by_key(&self.hasher.hash(&key.digits()))
            .await?
        else {
            self.refused(None, "activation", "refused_unknown_key");
            return Err(cannot_activate());
        };
        let owner = caller.owns(&row);
        if let Err(refusal) = Self::check_usable(&row, now, channel) {
            self.refused(Some(&row.id), "activation", "refused_unusable");
            return Err(if owner { refusal } else { cannot_activate() });
        }
        if row.binding.is_none()
            && self
                .store
                .bind_if_free(&row.id, binding, holder, now)
                .await?
        {
            self.log(&row.id, "activation", "ok", binding, now).await;
            return self.sign(&row, binding, now, nonce);
        }
        if !owner {
            self.refused(Some(&row.id), "activation", "refused_activated");
            return Err(cannot_activate());
        }
        let outcome = if matches!(caller, Caller::Staff) {
            "ok_reactivated_by_staff"
        } else {
            "ok_reactivated"
        };
        // The account activates its own key again: a new credential, and a move if elsewhere.
        let row = self.find(&row.id).await?;
        if row.binding.as_ref() == Some(binding) {
            if !self
                .store
                .replace_holder(&row.id, binding, holder, now)
                .await?
            {
                return Err(self.moved(&row.id).await);
            }
            self.log(&row.id, "activation", outcome, binding, now).await;
            return self.sign(&row, binding, now, nonce);
        }
        let answer = self
            .rebind_of(
                row.clone(),
                binding,
                "activated again by the account",
                nonce,
                Some(holder),
                channel,
            )
            .await?;
        self.log(&row.id, "activation", outcome, binding, now).await;
        Ok(answer)
    }

    /// The license `license_id`, once `proof` shows the caller holds its activation credential
    /// for this request. An unknown id and a wrong proof get the same answer by the same path
    /// (a proof checked, a refusal counted in memory). A proof by a credential the account
    /// replaced gets, for a validation, the server's signed notice that the license moved.
    pub(super) async fn proven(
        &self,
        license_id: &str,
        action: ProofAction,
        binding: &Binding,
        nonce: &str,
        proof: &str,
    ) -> Result<LicenseRow, Denial> {
        check_text("license id", license_id, limits::LICENSE_ID_CHARS)?;
        let kind = action_kind(action);
        let Some(row) = self.store.license_by_id(license_id).await? else {
            // The same work as for a license that exists: one proof checked.
            let _ = verify_proof(&UNKNOWN_HOLDER, proof, action, license_id, binding, nonce);
            self.refused(None, kind, "refused_no_proof");
            return Err(no_proof());
        };
        if proof_holds(&row, action, binding, nonce, proof) {
            self.remember(&row);
            return Ok(row);
        }
        let replaced = row
            .former_holders
            .iter()
            .find(|former| verify_proof(&former.key, proof, action, &row.id, binding, nonce));
        match replaced {
            Some(former) if action == ProofAction::Validate => {
                self.refused(Some(&row.id), kind, "refused_moved");
                Err(self.moved_notice(&row.id, &former.key, former.replaced_at, nonce)?)
            }
            _ => {
                self.refused(Some(&row.id), kind, "refused_no_proof");
                Err(no_proof())
            }
        }
    }

    /// Extends grace to `days` from now, up to the license's cap. Needs the account's token.
    pub async fn extend_grace(
        &self,
        account: &str,
        request: &GraceExtensionRequest,
    ) -> Result<String, Denial> {
        let GraceExtensionRequest {
            license_id,
            binding,
            days,
            nonce,
            proof,
        } = request;
        self.find_owned(account, license_id).await?;
        let row = self
            .proven(license_id, ProofAction::Extend, binding, nonce, proof)
            .await?;
        self.extend_grace_of(row, binding, *days, nonce, Channel::Online)
            .await
    }

    pub(super) async fn extend_grace_of(
        &self,
        row: LicenseRow,
        binding: &Binding,
        days: u32,
        nonce: &str,
        channel: Channel,
    ) -> Result<String, Denial> {
        check_nonce(nonce)?;
        check_binding(binding)?;
        let now = self.now();
        Self::check_usable(&row, now, channel)?;
        self.check_bound_here(&row, binding).await?;
        let cap = row.terms.max_grace_days.min(self.grace_bound());
        if days > cap {
            self.refused(Some(&row.id), "grace_extension", "refused_over_cap");
            return Err(Denial::Forbidden {
                code: "over_grace_cap",
                message: format!(
                    "this license allows at most {cap} days of offline grace, and {days} were asked: ask for {cap} days or fewer, or contact your vendor"
                ),
            });
        }
        let until = now
            .checked_add_days(Days::new(u64::from(days)))
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        if !self
            .store
            .extend_grace(&row.id, binding, until, now)
            .await?
        {
            return Err(self.moved(&row.id).await);
        }
        let mut row = row;
        row.grace_extended_until = Some(until);
        self.log(&row.id, "grace_extension", "ok", binding, now)
            .await;
        self.sign(&row, binding, now, nonce)
    }

    /// Moves a license to a new binding (after a database restore). Needs the account's token;
    /// limited to `max_rebinds_per_30_days`.
    pub async fn rebind(&self, account: &str, request: &RebindRequest) -> Result<String, Denial> {
        let RebindRequest {
            license_id,
            binding: new,
            reason,
            nonce,
            proof,
        } = request;
        self.find_owned(account, license_id).await?;
        let row = self
            .proven(license_id, ProofAction::Rebind, new, nonce, proof)
            .await?;
        self.rebind_of(row, new, reason, nonce, None, Channel::Online)
            .await
    }

    /// Moves `row` to `new`; `holder` replaces the activation credential (a re-activation).
    pub(super) async fn rebind_of(
        &self,
        row: LicenseRow,
        new: &Binding,
        reason: &str,
        nonce: &str,
        holder: Option<&str>,
        channel: Channel,
    ) -> Result<String, Denial> {
        check_nonce(nonce)?;
        check_binding(new)?;
        let now = self.now();
        Self::check_usable(&row, now, channel)?;
        let Some(old) = row.binding.clone() else {
            return Err(Denial::Conflict {
                code: "not_activated",
                message: "this license was never activated: activate it instead".into(),
            });
        };
        if &old == new {
            return self.validate_row(&row, new, nonce, channel).await;
        }
        let since = now - Duration::days(30);
        let recent = self.store.rebinds_since(&row.id, since).await?;
        let limit = row.terms.max_rebinds_per_30_days;
        if recent.len() >= usize::try_from(limit).unwrap_or(usize::MAX) {
            self.refused(Some(&row.id), "rebind", "refused_limit");
            return Err(Denial::Forbidden {
                code: "rebind_limit",
                message: format!(
                    "this license was moved {} times in the last 30 days, its limit is {limit}: contact your vendor to move it again",
                    recent.len()
                ),
            });
        }
        tenure_core::text::check_free_text("reason", reason, 0, limits::REASON_CHARS)
            .map_err(|e| Denial::Invalid(e.to_string()))?;
        let reason = reason.trim();
        let reason = if reason.is_empty() {
            "not given"
        } else {
            reason
        };
        let record = RebindRow {
            license_id: row.id.clone(),
            old,
            new: new.clone(),
            reason: reason.to_owned(),
            at: now,
            holder: holder.map(str::to_owned),
        };
        if !self.store.rebind(&record, now).await? {
            return Err(Denial::Conflict {
                code: "bound_elsewhere",
                message:
                    "the license was moved by someone else just now: check its status and try again"
                        .into(),
            });
        }
        self.log(&row.id, "rebind", "ok", new, now).await;
        self.sign(&row, new, now, nonce)
    }

    pub(super) async fn check_bound_here(
        &self,
        row: &LicenseRow,
        binding: &Binding,
    ) -> Result<(), Denial> {
        match &row.binding {
            None => Err(Denial::Conflict {
                code: "not_activated",
                message: "this license is not activated yet: activate it with its key".into(),
            }),
            Some(bound) if bound != binding => {
                self.refused(Some(&row.id), "validation", "refused_bound_elsewhere");
                Err(self.moved(&row.id).await)
            }
            Some(_) => Ok(()),
        }
    }

    /// The refusal for a license that lives elsewhere now, saying where and since when.
    pub(super) async fn moved(&self, license_id: &str) -> Denial {
        let row = self.store.license_by_id(license_id).await.ok().flatten();
        let where_now = row
            .and_then(|r| r.binding)
            .map_or_else(|| "another database".to_owned(), |b| b.to_string());
        let since = self
            .store
            .rebinds_since(license_id, DateTime::<Utc>::MIN_UTC)
            .await
            .ok()
            .and_then(|r| r.first().map(|r| r.at));
        let when = since.map_or_else(String::new, |t| {
            format!(" since {}", t.format("%Y-%m-%d %H:%M UTC"))
        });
        Denial::Conflict {
            code: "bound_elsewhere",
            message: format!(
                "this license now lives at {where_now}{when}: use it there, or re-validate to move it here"
            ),
        }
    }
}
