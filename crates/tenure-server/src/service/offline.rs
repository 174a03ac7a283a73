//! Offline request files answered by the vendor's staff (CLI, admin API, console): the same
//! rules as online, the staff standing in for the account's token; with `reactivate`, an
//! activation of a key already in use, confirmed with its account, recorded as done by staff.

use tenure_core::DocKind;
use tenure_core::possession::ProofAction;
use tenure_core::protocol::{OfflineAsk, OfflineRequest};

use super::{Caller, Channel, Denial, Vendor};

/// An offline request file to answer.
#[derive(Debug, Clone, Copy)]
pub struct OfflineAnswer<'a> {
    /// The file's text, as the workstation wrote it.
    pub request: &'a str,
    /// The key is activated already and its account confirmed it wants it here instead:
    /// replace the credential (a move, if elsewhere, within the license's limit).
    pub reactivate: bool,
}

/// The offline operations of a [`Vendor`] (`vendor.offline()`).
pub struct OfflineAnswers<'v> {
    pub(super) vendor: &'v Vendor,
}

impl OfflineAnswers<'_> {
    /// Answers a request file: a signed license echoing its nonce — or, for a validation by a
    /// credential the account replaced, the signed notice that the license moved (imported,
    /// it stops the license where it was).
    pub async fn answer(&self, answer: &OfflineAnswer<'_>) -> Result<String, Denial> {
        let request = read_request(answer.request)?;
        if answer.reactivate {
            return self.reactivate(&request).await;
        }
        self.answer_request(&request).await
    }

    async fn reactivate(&self, request: &OfflineRequest) -> Result<String, Denial> {
        let OfflineAsk::Activate { key } = &request.ask else {
            return Err(Denial::Invalid(
                "--reactivate answers activation requests only; answer this request without it"
                    .into(),
            ));
        };
        let holder = request_holder(request)?;
        self.vendor
            .activate_by(
                key,
                &request.binding,
                &request.nonce,
                holder,
                Caller::Staff,
                Channel::File,
            )
            .await
    }

    /// By the same rules as online (key state, rebind limits, grace caps); the staff stand in
    /// for the account, so no account token is asked for.
    async fn answer_request(&self, request: &OfflineRequest) -> Result<String, Denial> {
        let vendor = self.vendor;
        let (binding, nonce) = (&request.binding, request.nonce.as_str());
        let proof = request.proof.as_deref().unwrap_or_default();
        match &request.ask {
            OfflineAsk::Activate { key } => {
                let holder = request_holder(request)?;
                vendor
                    .activate_by(key, binding, nonce, holder, Caller::Anyone, Channel::File)
                    .await
            }
            OfflineAsk::Validate { license_id } => {
                match vendor
                    .validate_by(license_id, binding, nonce, proof, Channel::File)
                    .await
                {
                    Err(Denial::Moved { notice, .. }) => Ok(notice),
                    answer => answer,
                }
            }
            OfflineAsk::Extend { license_id, days } => {
                let row = vendor
                    .proven(license_id, ProofAction::Extend, binding, nonce, proof)
                    .await?;
                vendor
                    .extend_grace_of(row, binding, *days, nonce, Channel::File)
                    .await
            }
            OfflineAsk::Rebind { license_id, reason } => {
                let row = vendor
                    .proven(license_id, ProofAction::Rebind, binding, nonce, proof)
                    .await?;
                vendor
                    .rebind_of(row, binding, reason, nonce, None, Channel::File)
                    .await
            }
        }
    }
}

fn read_request(text: &str) -> Result<OfflineRequest, Denial> {
    tenure_core::signed::read_unsigned(text, DocKind::Request)
        .map_err(|e| Denial::Invalid(format!("the request file was refused: {e}")))
}

fn request_holder(request: &OfflineRequest) -> Result<&str, Denial> {
    request.holder.as_deref().ok_or_else(|| {
        Denial::Invalid(
            "the request carries no activation credential: make a new request with this version of Tenure".into(),
        )
    })
}
