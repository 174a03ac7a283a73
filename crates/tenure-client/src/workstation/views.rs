//! The workstation's smaller surfaces: views that borrow it, each for one concern —
//! [`Database`] (the product database and the binding it gives), [`ServerAccount`] (the license
//! server and the account signed in to it), [`VendorKeys`] (whose signatures are believed) — and
//! [`Configure`], which changes what IT sets up (the database, the binding's names, the vendor
//! keys of a development build).

use chrono::{DateTime, Utc};
use tenure_core::{Binding, KeyId};

use super::{EngineError, Trusted, Workstation};
use crate::api::{ApiClient, Credentials};
use crate::product_db::{AuditEvent, DbSpec, ProductDb};
use crate::roots::Roots;

/// The product database and the binding it gives (`workstation.database()`).
#[derive(Clone, Copy)]
pub struct Database<'w> {
    pub(super) ws: &'w Workstation,
}

impl<'w> Database<'w> {
    /// The product database to use: the one given for this run, else the one in settings
    /// (with its password from the secret store), else `product.db` in the data folder.
    pub fn spec(&self) -> Result<DbSpec, EngineError> {
        self.ws.db_spec()
    }

    /// True when the product database was given for this run (`--db`, `TENURE_DB`).
    pub fn given_for_this_run(&self) -> bool {
        self.ws.session_db.is_some()
    }

    /// The connected product database, if any.
    pub fn connected(&self) -> Option<&'w ProductDb> {
        self.ws.db.as_ref()
    }

    /// Why the license stored in the connected product database cannot be used here (an
    /// untrusted vendor key, a damaged file), if it cannot.
    pub fn license_problem(&self) -> Option<&'w str> {
        self.ws.db_license_problem.as_deref()
    }

    /// The latest audit events of the product database (empty when not connected).
    pub async fn recent_events(&self, limit: i64) -> Result<Vec<AuditEvent>, EngineError> {
        self.ws.recent_events(limit).await
    }

    /// Canonicalises a typed server and database name for this machine.
    pub fn binding_for(&self, server: &str, database: &str) -> Binding {
        self.ws.binding_for(server, database)
    }

    /// The binding in force: an override for this run if given, else the one IT saved for the
    /// connected database, else the one derived from it, else the one saved at activation.
    pub fn current_binding(&self) -> Option<Binding> {
        self.ws.current_binding()
    }

    /// The binding IT saved for the connected product database, if any.
    pub fn saved_binding_override(&self) -> Option<Binding> {
        self.ws.saved_binding_override()
    }

    /// The binding derived from the connected product database (before any override).
    pub fn derived_binding(&self) -> Option<Binding> {
        self.ws.db.as_ref().map(|db| db.binding().clone())
    }

    /// The database server's clock, which judges concurrent-seat leases; `fallback` when no
    /// database is connected or it does not answer.
    pub async fn clock(&self, fallback: DateTime<Utc>) -> DateTime<Utc> {
        self.ws.lease_clock(fallback).await
    }
}

/// The license server and the account signed in to it (`workstation.server()`).
#[derive(Clone, Copy)]
pub struct ServerAccount<'w> {
    pub(super) ws: &'w Workstation,
}

impl ServerAccount<'_> {
    /// An API client for the configured server, or `override_url`.
    pub fn api(&self, override_url: Option<&str>) -> Result<ApiClient, EngineError> {
        self.ws.api(override_url)
    }

    /// The stored account credentials, if signed in.
    pub fn credentials(&self) -> Result<Option<Credentials>, EngineError> {
        self.ws.credentials()
    }

    /// Stores account credentials in the secret store (no check with the server: see
    /// [`Self::sign_in`]).
    pub fn login(&self, credentials: &Credentials) -> Result<(), EngineError> {
        self.ws.login(credentials)
    }

    /// Signs in: the server must accept the account and its token (it lists the account's
    /// licenses) before they are kept. Returns how many licenses the account owns.
    pub async fn sign_in(
        &self,
        api: &ApiClient,
        credentials: &Credentials,
    ) -> Result<usize, EngineError> {
        let licenses = api.account_licenses(credentials).await?;
        self.ws.login(credentials)?;
        Ok(licenses.len())
    }

    /// Forgets the account credentials.
    pub fn logout(&self) -> Result<(), EngineError> {
        self.ws.secrets.delete(super::CREDENTIALS_SECRET)?;
        Ok(())
    }
}

/// Whose signatures this workstation believes (`workstation.vendor_keys()`).
#[derive(Clone, Copy)]
pub struct VendorKeys<'w> {
    pub(super) ws: &'w Workstation,
}

impl<'w> VendorKeys<'w> {
    /// The roots this build trusts.
    pub fn roots(&self) -> &'w Roots {
        &self.ws.roots
    }

    /// Root key ids, then certified signing key ids, for display.
    pub fn ids(&self) -> (Vec<KeyId>, Vec<KeyId>) {
        self.ws.trusted_key_ids()
    }

    /// True when no root is trusted (a development build before `trust`).
    pub fn none_trusted(&self) -> bool {
        self.ws.has_no_roots()
    }
}

/// What IT sets up, saved in the profile (`workstation.configure()`).
pub struct Configure<'w> {
    pub(super) ws: &'w mut Workstation,
}

impl Configure<'_> {
    /// Saves the product database to use from now on (a password in a PostgreSQL URL goes to
    /// the secret store, never into the settings file); connect it with
    /// [`Workstation::connect`].
    pub fn choose_database(&mut self, spec: &DbSpec) -> Result<(), EngineError> {
        self.ws.set_db_spec(spec)
    }

    /// Uses `binding` for this run only (not saved), e.g. from `--server-name/--database`.
    pub fn override_binding(&mut self, binding: Option<Binding>) {
        self.ws.binding_override = binding;
    }

    /// Saves (or, with `None`, removes) the binding to use for the connected product database
    /// instead of the derived one.
    pub fn save_binding_override(&mut self, binding: Option<Binding>) -> Result<(), EngineError> {
        self.ws.save_binding_override(binding)
    }

    /// Keeps this profile's secrets in an owner-only plain file, NOT encrypted, from now on:
    /// only on the user's explicit choice, where no OS keyring can be used. Connect again
    /// afterwards to rebuild the cache from the product database.
    pub fn keep_secrets_in_plain_file(&mut self) -> Result<(), EngineError> {
        self.ws.use_plain_file_secrets()
    }

    /// Adds what a vendor file carries: a signing-key certificate from a trusted root, a root's
    /// revocation list, or — in a development build only — a root public key.
    pub fn trust(&mut self, text: &str) -> Result<Trusted, EngineError> {
        self.ws.trust(text)
    }

    /// Stops trusting a root added with `trust` (development builds).
    pub fn untrust(&mut self, key_id: &str) -> Result<bool, EngineError> {
        self.ws.untrust(key_id)
    }
}
