//! Offline request files answered by the vendor's staff (CLI, admin API, console): the same
//! rules as online, the staff standing in for the account's token; with `reactivate`, an
//! activation of a key already in use, confirmed with its account, recorded as done by staff.

use tenure_core::DocKind;
use tenure_core::possession::ProofAction;
use tenure_core::protocol::{OfflineAsk, OfflineRequest};

use chrono::Duration;
use tenure_core::Binding;

use super::{Caller, Channel, Denial, Vendor, check_binding, check_nonce};

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
            OfflineAsk::Release { .. } => Err(not_an_answer()),
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

impl OfflineAnswers<'_> {
    /// Answers a request file a customer uploaded to the portal, signed in as `account`: only
    /// for the account's own licenses, by the same rules as online. An activation of a key the
    /// account already activated elsewhere is a move (its next validation there hears it).
    pub async fn answer_for_account(&self, account: &str, text: &str) -> Result<String, Denial> {
        let request = read_request(text)?;
        match &request.ask {
            OfflineAsk::Activate { key } => {
                self.vendor.owned_key(account, key).await?;
                let holder = request_holder(&request)?;
                self.vendor
                    .activate_by(
                        key,
                        &request.binding,
                        &request.nonce,
                        holder,
                        Caller::Account(account),
                        Channel::File,
                    )
                    .await
            }
            OfflineAsk::Release { .. } => Err(not_an_answer()),
            OfflineAsk::Validate { license_id }
            | OfflineAsk::Extend { license_id, .. }
            | OfflineAsk::Rebind { license_id, .. } => {
                self.vendor.owned_license(account, license_id).await?;
                self.answer_request(&request).await
            }
        }
    }

    /// As [`OfflineAnswers::answer`], recorded in the usage log as done `by` (a member of
    /// staff in the console).
    pub async fn answer_as(&self, answer: &OfflineAnswer<'_>, by: &str) -> Result<String, Denial> {
        let answered = self.answer(answer).await?;
        let request = read_request(answer.request)?;
        self.vendor
            .record(
                asked_license(&request.ask),
                "offline",
                "answered",
                &format!("{} by {by}", request.ask.noun()),
            )
            .await;
        Ok(answered)
    }

    /// Takes a release file (`tenure offline release`): frees the license from the database
    /// it names, so its key can be activated elsewhere. Proven by the credential that held it
    /// and counted as a move. From the portal, `account` must own the license. Recorded as
    /// done `by`.
    pub async fn release(
        &self,
        text: &str,
        account: Option<&str>,
        by: &str,
    ) -> Result<Released, Denial> {
        let request = read_request(text)?;
        let OfflineAsk::Release { license_id } = &request.ask else {
            return Err(Denial::Invalid(format!(
                "this file asks for a {}, not a release: have it answered instead",
                request.ask.noun()
            )));
        };
        if let Some(account) = account {
            self.vendor.owned_license(account, license_id).await?;
        }
        let proof = request.proof.as_deref().unwrap_or_default();
        let released = self
            .vendor
            .release_by(license_id, &request.binding, &request.nonce, proof)
            .await?;
        self.vendor
            .record(Some(license_id), "license", "released", &format!("by {by}"))
            .await;
        Ok(released)
    }
}

/// What a release did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Released {
    /// The license freed.
    pub license_id: String,
    /// Where it was.
    pub from: Binding,
    /// The moves it has left in the last 30 days.
    pub moves_left: u32,
}

impl Vendor {
    /// Frees a license from `binding`, proven by its holder, within the license's moves.
    async fn release_by(
        &self,
        license_id: &str,
        binding: &Binding,
        nonce: &str,
        proof: &str,
    ) -> Result<Released, Denial> {
        check_nonce(nonce)?;
        check_binding(binding)?;
        let row = self
            .proven(license_id, ProofAction::Release, binding, nonce, proof)
            .await?;
        let now = self.now();
        let recent = self
            .store
            .rebinds_since(&row.id, now - Duration::days(30))
            .await?;
        let limit = row.terms.max_rebinds_per_30_days;
        let used = u32::try_from(recent.len()).unwrap_or(u32::MAX);
        if used >= limit {
            self.refused(Some(&row.id), "release", "refused_limit");
            let next = recent.last().map_or_else(
                || "never (its terms allow no moves)".into(),
                |oldest| {
                    (oldest.at + Duration::days(30))
                        .format("%Y-%m-%d")
                        .to_string()
                },
            );
            return Err(Denial::Forbidden {
                code: "rebind_limit",
                message: format!(
                    "this license was moved {used} times in the last 30 days, its limit is {limit}: it can be released again from {next}, or ask your vendor. It stays where it is: activate its key there again to use it there"
                ),
            });
        }
        if !self.store.release(&row.id, binding, now).await? {
            return Err(Denial::Conflict {
                code: "bound_elsewhere",
                message:
                    "the license was moved by someone else just now: check its status and try again"
                        .into(),
            });
        }
        self.log(&row.id, "release", "ok", binding, now).await;
        Ok(Released {
            license_id: row.id,
            from: binding.clone(),
            moves_left: limit - used - 1,
        })
    }

    /// The license `license_id`, if `account` owns it; the same refusal whether it does not
    /// exist or belongs to another account (a customer learns nothing of others).
    pub(super) async fn owned_license(
        &self,
        account: &str,
        license_id: &str,
    ) -> Result<crate::store::LicenseRow, Denial> {
        match self.store.license_by_id(license_id).await? {
            Some(row) if row.account == account => Ok(row),
            _ => Err(not_yours()),
        }
    }

    /// As [`Vendor::owned_license`], for a key.
    async fn owned_key(&self, account: &str, key: &str) -> Result<(), Denial> {
        let key =
            tenure_core::LicenseKey::parse(key).map_err(|e| Denial::Invalid(e.to_string()))?;
        match self
            .store
            .license_by_key(&self.hasher.hash(&key.digits()))
            .await?
        {
            Some(row) if row.account == account => Ok(()),
            _ => Err(not_yours()),
        }
    }
}

/// The license a request names, when it names one (an activation names a key).
fn asked_license(ask: &OfflineAsk) -> Option<&str> {
    match ask {
        OfflineAsk::Activate { .. } => None,
        OfflineAsk::Validate { license_id }
        | OfflineAsk::Rebind { license_id, .. }
        | OfflineAsk::Extend { license_id, .. }
        | OfflineAsk::Release { license_id } => Some(license_id),
    }
}

fn not_yours() -> Denial {
    Denial::NotFound(
        "no license of your account matches this file: sign in with the account that owns the license".into(),
    )
}

fn not_an_answer() -> Denial {
    Denial::Invalid(
        "this is a release file: upload it to release the license (the portal's Release), or take it with tenure-server offline release FILE".into(),
    )
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
