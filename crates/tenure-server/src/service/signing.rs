//! Signing: every answer that grants something is a license signed now, with the server's
//! clock, followed by the key's certificate and the latest revocation list; nothing is signed
//! outside what the certificate covers, nor by a key the deployment replaced.

use chrono::{DateTime, Utc};
use tenure_core::license::{EncodedTerms, LicenseToSign};
use tenure_core::trust::{MovedNotice, bundle_all};
use tenure_core::{Binding, DocKind};

use super::validation::encode_terms;
use super::{Denial, Vendor};
use crate::store::LicenseRow;

impl Vendor {
    pub(super) fn sign(
        &self,
        row: &LicenseRow,
        binding: &Binding,
        now: DateTime<Utc>,
        nonce: &str,
    ) -> Result<String, Denial> {
        self.sign_with(row, None, row.grace_extended_until, binding, now, nonce)
    }

    /// Signs `row` for `binding` with the grace extension `grace_extended_until` in force;
    /// `terms`: the row's terms encoded already, if they are.
    pub(super) fn sign_with(
        &self,
        row: &LicenseRow,
        terms: Option<&EncodedTerms>,
        grace_extended_until: Option<DateTime<Utc>>,
        binding: &Binding,
        now: DateTime<Utc>,
        nonce: &str,
    ) -> Result<String, Denial> {
        self.check_may_sign(now)?;
        let mut grace_days = row.terms.grace_days;
        if let Some(until) = grace_extended_until
            && until > now
        {
            let secs = (until - now).num_seconds();
            let days = u32::try_from((secs + 86_399) / 86_400).unwrap_or(u32::MAX);
            grace_days = grace_days.max(days);
        }
        // A license made under a certificate that allowed more: workstations believe no more
        // than this key's certificate allows, so no more is signed.
        grace_days = grace_days.min(self.grace_bound());
        let encoded_now;
        let terms = if let Some(terms) = terms {
            terms
        } else {
            encoded_now = encode_terms(&row.terms)?;
            &encoded_now
        };
        let license = LicenseToSign {
            id: &row.id,
            account: &row.account,
            terms: terms.raw(),
            grace_days,
            binding,
            issued_at: now,
            validated_at: now,
            nonce,
            revoked_borrows: &row.revoked_borrows,
        };
        let text = self
            .key
            .sign(DocKind::License, &license)
            .map_err(|e| Denial::Sign(e.to_string()))?;
        Ok(self.with_public_documents(&text))
    }

    /// A signed document followed by the signing key's certificate and the latest revocation
    /// list, so any workstation that reads it can check it and learns the list.
    pub(super) fn with_public_documents(&self, signed: &str) -> String {
        bundle_all(
            signed,
            self.certificate
                .as_deref()
                .into_iter()
                .chain(self.revocations.as_deref()),
        )
    }

    /// `Ok` when this instance may sign now, else why not (for `/v1/health`).
    pub fn may_sign(&self) -> Result<(), String> {
        self.check_may_sign(self.now())
            .map_err(|e| format!("unavailable: {e}"))
    }

    /// Refuses to sign outside the signing key's certificate: workstations would refuse the
    /// answer, and a key past its certificate must sign nothing.
    pub(super) fn check_may_sign(&self, now: DateTime<Utc>) -> Result<(), Denial> {
        if let Some(current) = self.replaced_by() {
            return Err(Denial::Unavailable {
                code: "signing_key_replaced",
                message: format!(
                    "this license server signs with a key its vendor replaced (the current one is {current}): try again later, or another of the vendor's servers"
                ),
            });
        }
        let Some(certificate) = &self.certificate_terms else {
            return Ok(());
        };
        if now > certificate.not_after || now < certificate.not_before {
            tracing::error!(
                not_before = %certificate.not_before,
                not_after = %certificate.not_after,
                "the signing key's certificate does not cover now: rotate the key (tenure-server key rotate)"
            );
            return Err(Denial::Unavailable {
                code: "signing_key_expired",
                message: format!(
                    "the license server's signing key is certified only until {}: the vendor must rotate it. Try again later",
                    certificate.not_after.format("%Y-%m-%d")
                ),
            });
        }
        Ok(())
    }

    /// The signed notice that `license_id` moved, for the holder of the credential `holder`
    /// the account replaced at `moved_at`.
    pub(super) fn moved_notice(
        &self,
        license_id: &str,
        holder: &str,
        moved_at: DateTime<Utc>,
        nonce: &str,
    ) -> Result<Denial, Denial> {
        let now = self.now();
        self.check_may_sign(now)?;
        let notice = MovedNotice {
            license_id: license_id.to_owned(),
            nonce: nonce.to_owned(),
            holder: holder.to_owned(),
            moved_at,
            issued_at: now,
        };
        let text = self
            .key
            .sign(DocKind::Moved, &notice)
            .map_err(|e| Denial::Sign(e.to_string()))?;
        Ok(Denial::Moved {
            message: format!(
                "this license was activated again by its account on another database on {}: it no longer works here",
                moved_at.format("%Y-%m-%d")
            ),
            notice: self.with_public_documents(&text),
        })
    }
}
