//! `root`, `key` and `admin-token`: the vendor's offline root, the servers' signing key (certify,
//! rotate, revoke) and the admin token every instance shares.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, Result};
use chrono::Utc;
use clap::{Args, Subcommand};
use tenure_server::{ServerPaths, config, keys};

#[derive(Subcommand)]
pub(super) enum AdminTokenCommand {
    /// Write a new admin token (into --admin-token-file, or the data folder's) and record it
    /// as the one every instance on the database must share; the old one stops working once
    /// the instances restart with the new file.
    Rotate,
}

#[derive(Subcommand)]
pub(super) enum RootCommand {
    /// Make a root key (secret, owner-only) and its public key file (FILE.pub) to build into
    /// the product: `TENURE_VENDOR_ROOTS=FILE.pub cargo build --release`.
    Create {
        /// Where to write the root's secret key; keep it offline.
        #[arg(short, long)]
        output: PathBuf,
    },
    /// On the root's machine: certify a signing key from its public key file (the console's
    /// Keys page offers it), with no data folder or database. Upload the certificate on the
    /// Keys page.
    Certify {
        /// The root's secret key file.
        #[arg(long)]
        root: PathBuf,
        /// The signing key's public key file.
        #[arg(long)]
        public_key: PathBuf,
        #[command(flatten)]
        span: SpanArgs,
        /// Where to write the certificate.
        #[arg(short, long)]
        output: PathBuf,
    },
    /// On the root's machine: the next revocation list, from the one in force (the console's
    /// Keys page offers it) and one more key. Upload it on the Keys page.
    Revoke {
        /// The root's secret key file.
        #[arg(long)]
        root: PathBuf,
        /// The revocation list in force, if there is one.
        #[arg(long)]
        list: Option<PathBuf>,
        /// The signing key's id (16 hex digits).
        key_id: String,
        /// Why, in a few words.
        #[arg(long, default_value = "revoked by the vendor")]
        reason: String,
        /// Where to write the new list.
        #[arg(short, long)]
        output: PathBuf,
    },
}

#[derive(Subcommand)]
pub(super) enum KeyCommand {
    /// Make a new key file (owner-only): a signing key to share among instances with
    /// --signing-key-file (certify it next), or with `--for license-keys` the secret license
    /// keys are hashed with (--key-hash-secret-file).
    Create {
        /// Where to write the key; it must not exist.
        #[arg(short, long)]
        output: PathBuf,
        /// What the key is for.
        #[arg(long = "for", value_enum, default_value = "signing")]
        purpose: KeyPurpose,
    },
    /// Certify this server's signing key with the root (writes vendor-signing.cert) and record
    /// it as the deployment's current key — if the database names none yet, or names this one.
    Certify {
        /// The root's secret key file.
        #[arg(long)]
        root: PathBuf,
        #[command(flatten)]
        span: SpanArgs,
        /// Replace the database's current signing key with this one: instances still signing
        /// with the old key stop signing within a minute, until restarted with this one.
        #[arg(long)]
        make_current: bool,
    },
    /// Make a new signing key, certify it with the root and use it from the next start; the
    /// old key is kept aside. Licenses it signed keep working until their next validation
    /// replaces them, and never past its certificate's end plus its grace bound.
    Rotate {
        /// The root's secret key file.
        #[arg(long)]
        root: PathBuf,
        #[command(flatten)]
        span: SpanArgs,
    },
    /// Revoke a signing key: workstations refuse its licenses once they hear of it.
    Revoke {
        /// The root's secret key file.
        #[arg(long)]
        root: PathBuf,
        /// The signing key's id (16 hex digits).
        key_id: String,
        /// Why, in a few words.
        #[arg(long, default_value = "revoked by the vendor")]
        reason: String,
    },
}

/// What a new key file is for.
#[derive(Clone, Copy, clap::ValueEnum)]
pub(super) enum KeyPurpose {
    /// A signing key (certify it next).
    Signing,
    /// The secret license keys are hashed with.
    LicenseKeys,
}

/// What a certificate covers.
#[derive(Args)]
pub(super) struct SpanArgs {
    /// Days the certificate covers.
    #[arg(long, default_value_t = 730)]
    days: u32,
    /// The longest offline grace the key may give (and so the most days anything it signed
    /// outlives the certificate): licenses asking for more cannot be made with it.
    #[arg(long, default_value_t = 90, value_parser = clap::value_parser!(u32).range(1..=3650))]
    max_grace_days: u32,
}

impl SpanArgs {
    fn span(&self) -> keys::CertificateSpan {
        keys::CertificateSpan {
            days: self.days,
            max_grace_days: self.max_grace_days,
        }
    }
}

pub(super) async fn key_command(command: KeyCommand, paths: &ServerPaths) -> Result<ExitCode> {
    let now = Utc::now();
    let said = match command {
        KeyCommand::Create { output, purpose } => {
            let key = config::create_key_file(&output)?;
            match purpose {
                KeyPurpose::Signing => format!(
                    "signing key {} written to {} (owner-only): certify it with `tenure-server --signing-key-file {} key certify --root ROOT.key`",
                    key.key_id(),
                    output.display(),
                    output.display()
                ),
                KeyPurpose::LicenseKeys => format!(
                    "the secret license keys are hashed with written to {} (owner-only): give every instance on the database this file (--key-hash-secret-file, or TENURE_SERVER_KEY_HASH_SECRET_FILE) before its first start",
                    output.display()
                ),
            }
        }
        KeyCommand::Certify {
            root,
            span,
            make_current,
        } => keys::certify_deployment(paths, &root, span.span(), make_current, now).await?,
        KeyCommand::Rotate { root, span } => {
            keys::rotate_deployment(paths, &root, span.span(), now).await?
        }
        KeyCommand::Revoke {
            root,
            key_id,
            reason,
        } => keys::revoke_deployment(paths, &root, &key_id, &reason, now).await?,
    };
    println!("{said}");
    Ok(ExitCode::SUCCESS)
}

/// `admin-token rotate`.
pub(super) async fn admin_token_command(
    command: AdminTokenCommand,
    paths: &ServerPaths,
) -> Result<ExitCode> {
    match command {
        AdminTokenCommand::Rotate => {
            let path = keys::rotate_admin_token(paths).await?;
            println!(
                "a new admin token is in {} and recorded as the deployment's: restart every instance with this file; the old token stops working as they do",
                path.display()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `root certify` and `root revoke`: files the root signs on its own machine.
pub(super) fn root_command(command: RootCommand) -> Result<ExitCode> {
    let now = Utc::now();
    let read = |path: &std::path::Path| {
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
    };
    let (output, text, said) = match command {
        RootCommand::Create { output } => return root_create(&output),
        RootCommand::Certify {
            root,
            public_key,
            span,
            output,
        } => {
            let root = config::read_key_file(&root)?;
            let key = tenure_core::signed::parse_public_key(&read(&public_key)?)
                .with_context(|| format!("{} is not a public key file", public_key.display()))?;
            let (certificate, until) =
                tenure_server::signed_files::certificate_for(&root, &key, span.span(), now)?;
            let said = format!(
                "signing key {} certified until {}",
                tenure_core::KeyId::of(&key),
                until.format("%Y-%m-%d")
            );
            (output, certificate, said)
        }
        RootCommand::Revoke {
            root,
            list,
            key_id,
            reason,
            output,
        } => {
            let root = config::read_key_file(&root)?;
            let current = list.as_deref().map(read).transpose()?;
            let (text, keys) = tenure_server::signed_files::next_revocations(
                &root,
                current.as_deref(),
                &key_id,
                &reason,
                now,
            )?;
            (
                output,
                text,
                format!("{key_id} revoked ({keys} keys in the list)"),
            )
        }
    };
    super::write_atomic(&output, text.as_bytes())
        .with_context(|| format!("cannot write {}", output.display()))?;
    println!(
        "{said}: wrote {}. Upload it on the console's Keys page.",
        output.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn root_create(output: &std::path::Path) -> Result<ExitCode> {
    let root = config::create_key_file(output)?;
    let public = output.with_extension("pub");
    super::write_atomic(&public, root.public_key_text().as_bytes())
        .with_context(|| format!("cannot write {}", public.display()))?;
    println!(
        "root {} created: secret key {} (keep it offline, back it up), public key {} (build it into the product)",
        root.key_id(),
        output.display(),
        public.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// `public-key`: the signing key's public key file.
pub(super) fn public_key(vendor: &tenure_server::Vendor, output: Option<PathBuf>) -> Result<()> {
    let text = vendor.key().public_key_text();
    match output {
        Some(path) => {
            std::fs::write(&path, &text)
                .with_context(|| format!("cannot write {}", path.display()))?;
            eprintln!(
                "wrote public key {} to {}",
                vendor.key().key_id(),
                path.display()
            );
        }
        None => print!("{text}"),
    }
    Ok(())
}
