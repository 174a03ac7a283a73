//! Validation, the request every workstation makes most: judged on the license as last read,
//! stamped by a batched write that checks again what may have changed, and answered once the
//! stamp is durable.

use std::sync::Arc;

use tenure_core::Binding;
use tenure_core::license::{EncodedTerms, LicenseTerms};
use tenure_core::possession::{ProofAction, decode_public, verify_proof, verify_proof_with};
use tenure_core::protocol::{ValidationRequest, limits};

use super::{Channel, Denial, Vendor, check_binding, check_nonce, check_text};
use crate::store::{EventRow, LicenseRow, Stamp, Stamped};

/// Licenses kept in memory for validations, at most.
pub(super) const ROW_CACHE_MAX: usize = 100_000;

/// True when `proof` is the license holder's signature over this request.
pub(super) fn proof_holds(
    row: &LicenseRow,
    action: ProofAction,
    binding: &Binding,
    nonce: &str,
    proof: &str,
) -> bool {
    row.holder_key
        .as_deref()
        .is_some_and(|holder| verify_proof(holder, proof, action, &row.id, binding, nonce))
}

/// A license kept for validations, with its holder's key decoded and its terms encoded once.
pub(super) struct CachedRow {
    row: LicenseRow,
    holder: Option<ed25519_dalek::VerifyingKey>,
    /// `None` if they could not be (then each answer encodes them, and says why if it fails).
    terms: Option<EncodedTerms>,
}

pub(super) fn encode_terms(terms: &LicenseTerms) -> Result<EncodedTerms, Denial> {
    EncodedTerms::new(terms).map_err(|e| Denial::Sign(e.to_string()))
}

impl CachedRow {
    fn proof_holds(&self, binding: &Binding, nonce: &str, proof: &str) -> bool {
        self.holder.as_ref().is_some_and(|key| {
            verify_proof_with(
                key,
                proof,
                ProofAction::Validate,
                &self.row.id,
                binding,
                nonce,
            )
        })
    }
}

impl Vendor {
    /// Validates a license: a fresh signed license, grace restarted. The request must be signed
    /// by the license's activation credential.
    pub async fn validate(&self, request: &ValidationRequest) -> Result<String, Denial> {
        let answer = if request.revoked_borrows.is_empty() && request.borrowed_session.is_none() {
            self.validate_by(
                &request.license_id,
                &request.binding,
                &request.nonce,
                &request.proof,
                Channel::Online,
            )
            .await?
        } else {
            self.validate_with_borrows(request).await?
        };
        // Kept only once the request proved it comes from the license's holder; a report
        // that cannot be kept is logged, and never costs the workstation its validation.
        if !request.overdraft.is_empty()
            && let Err(e) = self
                .store
                .record_overdraft(&request.license_id, &request.overdraft, self.now())
                .await
        {
            tracing::warn!(error = %e, license = %request.license_id, "an overdraft report was not kept");
        }
        // A pool that gave seats beyond its count was full: owed once per license and day.
        for day in request.overdraft.iter().filter(|d| d.grants > 0) {
            let data = serde_json::json!({
                "license_id": request.license_id,
                "day": day.day,
                "seats_beyond_the_count": day.grants,
            });
            let once = format!("pool:{}:{}", request.license_id, day.day);
            self.emit_later(super::Event::SeatPoolFull, data, Some(once));
        }
        Ok(answer)
    }

    /// A validation from a pool that reports revoked borrows, or from a laptop that holds one:
    /// proven, the reports confirmed (within the license's 30-day cap), then answered with
    /// every confirmed revocation listed. Rare, so it skips the fast path: the list is read
    /// afresh, whichever instance confirmed it.
    async fn validate_with_borrows(&self, request: &ValidationRequest) -> Result<String, Denial> {
        check_nonce(&request.nonce)?;
        check_binding(&request.binding)?;
        let mut row = self
            .proven(
                &request.license_id,
                ProofAction::Validate,
                &request.binding,
                &request.nonce,
                &request.proof,
            )
            .await?;
        let now = self.now();
        Self::check_usable(&row, now, Channel::Online)?;
        self.check_bound_here(&row, &request.binding).await?;
        if !request.revoked_borrows.is_empty() {
            let latest_end = now + chrono::Duration::days(i64::from(row.terms.max_borrow_days));
            let refused = self
                .store
                .confirm_revoked_borrows(&row.id, &request.revoked_borrows, latest_end, now)
                .await?;
            if refused > 0 {
                tracing::warn!(license = %row.id, refused, "revoked borrows beyond the 30-day cap were not confirmed");
            }
        }
        row.revoked_borrows = self.store.revoked_borrows(&row.id, now).await?;
        self.validate_row(&row, &request.binding, &request.nonce, Channel::Online)
            .await
    }

    pub(super) async fn validate_by(
        &self,
        license_id: &str,
        binding: &Binding,
        nonce: &str,
        proof: &str,
        channel: Channel,
    ) -> Result<String, Denial> {
        check_nonce(nonce)?;
        check_binding(binding)?;
        check_text("license id", license_id, limits::LICENSE_ID_CHARS)?;
        // Fast path: judged on the license as last read, then stamped by a write that checks
        // again what may have changed since (binding, holder, revocation). Only when that write
        // finds a change is the license read afresh.
        if let Some(cached) = self.cached(license_id)
            && cached.row.binding.as_ref() == Some(binding)
            && Self::check_usable(&cached.row, self.now(), channel).is_ok()
            && cached.proof_holds(binding, nonce, proof)
        {
            if let Some(answer) = self
                .stamp_and_sign(&cached.row, cached.terms.as_ref(), binding, nonce)
                .await?
            {
                return Ok(answer);
            }
            self.forget(license_id);
        }
        let row = self
            .proven(license_id, ProofAction::Validate, binding, nonce, proof)
            .await?;
        self.validate_row(&row, binding, nonce, channel).await
    }

    /// The license as last read for a validation, if any.
    pub(super) fn cached(&self, license_id: &str) -> Option<Arc<CachedRow>> {
        self.rows
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(license_id)
            .cloned()
    }

    pub(super) fn remember(&self, row: &LicenseRow) {
        // Decoded and encoded before the lock is taken: validations read the cache meanwhile.
        let cached = Arc::new(CachedRow {
            // The revoked borrows are answered only to the requests that ask (read afresh).
            row: LicenseRow {
                revoked_borrows: Vec::new(),
                ..row.clone()
            },
            holder: row.holder_key.as_deref().and_then(decode_public),
            terms: EncodedTerms::new(&row.terms).ok(),
        });
        let mut rows = self
            .rows
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if rows.len() >= ROW_CACHE_MAX {
            rows.clear();
        }
        rows.insert(row.id.clone(), cached);
    }

    pub(super) fn forget(&self, license_id: &str) {
        self.rows
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(license_id);
    }

    /// Stamps the validation (batched, durable) and signs the answer; `None` when the license
    /// changed under the request (moved, re-activated, revoked).
    /// `terms`: the row's terms encoded already (a cached row keeps them), if they are.
    pub(super) async fn stamp_and_sign(
        &self,
        row: &LicenseRow,
        terms: Option<&EncodedTerms>,
        binding: &Binding,
        nonce: &str,
    ) -> Result<Option<String>, Denial> {
        let now = self.now();
        let stamp = Stamp {
            license_id: row.id.clone(),
            binding: binding.clone(),
            holder: row.holder_key.clone().unwrap_or_default(),
            at: now,
        };
        let event = EventRow {
            license_id: Some(row.id.clone()),
            kind: "validation".into(),
            outcome: "ok".into(),
            detail: binding.to_string(),
            at: now,
            count: 1,
        };
        // Signed before the commit, so the signing fills the time the batch spends on its
        // flush instead of following it; sent only once the stamp and its log line are
        // committed (group commit), and signed again if the commit found another grace
        // extension in force (granted here or by another instance since the row was read).
        let signed = self.sign_with(row, terms, row.grace_extended_until, binding, now, nonce)?;
        match self.store.record_validation(stamp, event).await? {
            Stamped::Yes {
                grace_extended_until,
            } if grace_extended_until == row.grace_extended_until => Ok(Some(signed)),
            Stamped::Yes {
                grace_extended_until,
            } => {
                // The row kept for validations learns the extension, so the license's next
                // validations sign once again.
                let fresh = LicenseRow {
                    grace_extended_until,
                    ..row.clone()
                };
                self.remember(&fresh);
                Ok(Some(self.sign_with(
                    &fresh,
                    terms,
                    grace_extended_until,
                    binding,
                    now,
                    nonce,
                )?))
            }
            Stamped::No => Ok(None),
        }
    }

    pub(super) async fn validate_row(
        &self,
        row: &LicenseRow,
        binding: &Binding,
        nonce: &str,
        channel: Channel,
    ) -> Result<String, Denial> {
        let now = self.now();
        Self::check_usable(row, now, channel)?;
        self.check_bound_here(row, binding).await?;
        if let Some(answer) = self.stamp_and_sign(row, None, binding, nonce).await? {
            return Ok(answer);
        }
        // It changed between the read and the write: say what it is now.
        let fresh = self.find(&row.id).await?;
        Self::check_usable(&fresh, now, channel)?;
        Err(self.moved(&row.id).await)
    }
}
