//! `login`, `logout`, `trust`, `untrust`, `keys`.

use std::io::{BufRead as _, IsTerminal as _};
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context as _, Result, bail};
use tenure_client::{Credentials, Workstation};

use crate::present::Outcome;

pub fn login(
    runtime: &tokio::runtime::Runtime,
    workstation: &mut Workstation,
    server: Option<&str>,
    account: &str,
    plain_file: bool,
) -> Result<ExitCode> {
    // The token never comes from argv, where other users and shell history could see it.
    let token = if std::io::stdin().is_terminal() {
        rpassword::prompt_password(format!("Token for account {account}: "))?
    } else {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        line
    };
    let token = token.trim().to_owned();
    if token.is_empty() {
        bail!("no token was given: paste the account token the vendor sent");
    }
    if plain_file {
        eprintln!(
            "warning: secrets will be kept UNENCRYPTED in {} because you asked for it",
            workstation.profile().plain_secrets_path().display()
        );
        workstation.configure().keep_secrets_in_plain_file()?;
    }
    let credentials = Credentials {
        account: account.to_owned(),
        token,
    };
    // The server says whether the account and token are right before anything is kept; with
    // no server known yet, they are kept unchecked, and the first request checks them.
    if let Ok(api) = workstation.server().api(server) {
        let licenses = runtime
            .block_on(workstation.server().sign_in(&api, &credentials))
            .map_err(|e| {
                anyhow::anyhow!(
                    "{}",
                    crate::advice::sign_in_failed(account, &e, crate::advice::Front::Cli)
                )
            })?;
        outln!(
            "{}",
            Outcome::SignedIn {
                account: account.to_owned(),
                licenses
            }
        )?;
    } else {
        workstation
            .server()
            .login(&credentials)
            .context("cannot store the credentials")?;
        eprintln!("warning: no license server is set, so the token was not checked");
    }
    if let Some(url) = server {
        workstation.update_settings(|s| s.server_url = Some(url.to_owned()))?;
    }
    outln!("Credentials kept in {}.", workstation.secrets().describe())?;
    Ok(ExitCode::SUCCESS)
}

pub fn logout(workstation: &Workstation) -> Result<ExitCode> {
    workstation.server().logout()?;
    outln!("{}", Outcome::SignedOut)?;
    Ok(ExitCode::SUCCESS)
}

pub fn trust(workstation: &mut Workstation, file: &Path) -> Result<ExitCode> {
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let text = tenure_core::signed::text_from_bytes(&bytes)?;
    let added = workstation.configure().trust(text)?;
    outln!("{}", Outcome::Trusted(added))?;
    Ok(ExitCode::SUCCESS)
}

pub fn untrust(workstation: &mut Workstation, key_id: &str) -> Result<ExitCode> {
    if workstation.configure().untrust(key_id)? {
        outln!("{}", Outcome::Untrusted(key_id.to_owned()))?;
        Ok(ExitCode::SUCCESS)
    } else {
        bail!("no trusted key has the id {key_id:?}: see `tenure keys`")
    }
}

pub fn keys(workstation: &Workstation, json: bool) -> Result<ExitCode> {
    let (roots, signing) = workstation.vendor_keys().ids();
    let build = if workstation.vendor_keys().roots().is_pinned() {
        "pinned"
    } else {
        "development"
    };
    if json {
        let roots: Vec<String> = roots.iter().map(ToString::to_string).collect();
        let signing: Vec<String> = signing.iter().map(ToString::to_string).collect();
        let doc = serde_json::json!({ "roots": roots, "signing_keys": signing, "build": build });
        outln!("{}", serde_json::to_string(&doc)?)?;
    } else if roots.is_empty() {
        outln!("no vendor root trusted yet: tenure trust ROOT.pub (development builds only)")?;
    } else {
        for id in roots {
            outln!("root {id} ({build})")?;
        }
        for id in signing {
            outln!("signing key {id} (certified)")?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
