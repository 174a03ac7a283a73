//! `serve`: the HTTP API until SIGTERM or Ctrl-C, with its limits, metrics listener and the
//! background work an instance does (writer, roll-up, refusal counts, key watch).

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context as _, Result};
use tenure_server::http::limit::ActivationLimits;

/// `serve`'s options.
#[derive(clap::Args)]
pub(super) struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8440")]
    listen: SocketAddr,
    /// PEM certificate chain: serve HTTPS (with --tls-key).
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// PEM private key for --tls-cert.
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Serve Prometheus metrics at `/metrics` on this address (e.g. one only the monitoring
    /// network reaches); without it there are none to scrape. Never on --listen: request
    /// counts would tell anyone how the licenses are used.
    #[arg(long, env = "TENURE_SERVER_METRICS_LISTEN")]
    metrics_listen: Option<SocketAddr>,
    /// How often an instance checks that its signing key is still the deployment's current one
    /// (it stops signing when it is not).
    #[arg(long, default_value_t = 20, hide = true, value_parser = clap::value_parser!(u64).range(1..))]
    key_check_every_secs: u64,
    /// Usage events older than this are rolled up into daily counts per license.
    #[arg(long, default_value_t = 90)]
    keep_events_days: u32,
    /// Activations one client address may make per minute, sustained: a key guesser is
    /// slowed to this. Raise it for a site activating many workstations from one address.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..))]
    activations_per_minute: u32,
    /// Activations one client address may make at once, before the per-minute rate applies.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..))]
    activation_burst: u32,
    /// Activations from every address together per second, sustained (bursts of four
    /// times this).
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..))]
    activations_per_second: u32,
    /// A load balancer or proxy (an address or CIDR range, e.g. 10.0.0.0/8) whose
    /// `Forwarded` / `X-Forwarded-For` headers name the real client; repeat for more. From
    /// any other peer those headers are ignored. Without it, behind a balancer every customer
    /// counts as the balancer's address.
    #[arg(long = "trusted-proxy", env = "TENURE_SERVER_TRUSTED_PROXIES", value_delimiter = ',', value_parser = parse_cidr)]
    trusted_proxies: Vec<ipnet::IpNet>,
}

/// `10.0.0.0/8`, or one address (`10.0.0.5`: a /32, or /128 for IPv6).
fn parse_cidr(text: &str) -> Result<ipnet::IpNet, String> {
    let text = text.trim();
    text.parse::<ipnet::IpNet>()
        .or_else(|_| text.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        .map_err(|_| format!("{text:?} is not an address or a CIDR range like 10.0.0.0/8"))
}

/// `serve`: the API on `listen` (HTTPS with a certificate), metrics on their own listener if
/// asked, until SIGTERM or Ctrl-C.
pub(super) async fn serve(state: tenure_server::AppState, args: ServeArgs) -> Result<()> {
    let ServeArgs {
        listen,
        tls_cert,
        tls_key,
        metrics_listen,
        keep_events_days,
        activations_per_minute,
        activation_burst,
        activations_per_second,
        trusted_proxies,
        key_check_every_secs,
    } = args;
    let vendor = &state.vendor;
    tenure_server::check_shared_admin_token(&state).await?;
    tenure_server::start_background_work(
        vendor,
        keep_events_days,
        std::time::Duration::from_secs(key_check_every_secs),
    )
    .await?;
    tracing::info!(key_id = %vendor.key().key_id(), "signing with vendor key");
    if vendor.certificate().is_none() {
        tracing::warn!(
            "the signing key has no certificate from a vendor root: workstations refuse its licenses until you run `tenure-server key certify --root ROOT.key`"
        );
    }
    if let Some(listen) = metrics_listen {
        let bound = tenure_server::spawn_metrics(listen).await?;
        tracing::info!("metrics at http://{bound}/metrics");
    }
    let state = state
        .with_activation_limits(activation_limits(
            activations_per_minute,
            activation_burst,
            activations_per_second,
        ))
        .with_trusted_proxies(trusted_proxies);
    if let (Some(cert), Some(key)) = (tls_cert, tls_key) {
        tracing::info!("listening on https://{listen}");
        tenure_server::serve_tls(listen, state.clone(), &cert, &key).await?;
    } else {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("cannot listen on {listen}: is another server using it?"))?;
        tracing::info!("listening on http://{listen}");
        tenure_server::serve_plain(listener, state.clone()).await?;
    }
    // The refusals of the last minute, before the process ends.
    state.vendor.flush_refusals().await;
    Ok(())
}

/// The activation limits `serve` was given (bursts from everyone: four times the rate).
fn activation_limits(per_minute: u32, burst: u32, per_second: u32) -> ActivationLimits {
    ActivationLimits {
        per_address_per_minute: per_minute,
        per_address_burst: burst,
        global_per_second: per_second,
        global_burst: per_second.saturating_mul(4),
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use super::super::{Cli, Command};
    use super::*;

    fn limits_of(args: &[&str]) -> Result<ActivationLimits, clap::Error> {
        let cli = Cli::try_parse_from(["tenure-server", "serve"].iter().chain(args))?;
        match cli.command {
            Command::Serve(ServeArgs {
                activations_per_minute,
                activation_burst,
                activations_per_second,
                ..
            }) => Ok(activation_limits(
                activations_per_minute,
                activation_burst,
                activations_per_second,
            )),
            _ => panic!("not serve"),
        }
    }

    #[test]
    fn serve_keeps_the_default_limits_and_takes_others_for_a_large_site() {
        assert_eq!(limits_of(&[]).unwrap(), ActivationLimits::default());
        let large = limits_of(&[
            "--activations-per-minute",
            "600",
            "--activation-burst",
            "300",
            "--activations-per-second",
            "500",
        ])
        .unwrap();
        assert_eq!(
            large,
            ActivationLimits {
                per_address_per_minute: 600,
                per_address_burst: 300,
                global_per_second: 500,
                global_burst: 2000,
            }
        );
        // No limit is no activation at all: refused with the flag named.
        let zero = limits_of(&["--activations-per-minute", "0"]).unwrap_err();
        assert!(
            zero.to_string().contains("--activations-per-minute"),
            "{zero}"
        );
    }

    #[test]
    fn metrics_are_off_unless_given_an_address_of_their_own() {
        let metrics_of = |args: &[&str]| -> Result<Option<SocketAddr>, clap::Error> {
            let cli = Cli::try_parse_from(["tenure-server", "serve"].iter().chain(args))?;
            match cli.command {
                Command::Serve(args) => Ok(args.metrics_listen),
                _ => panic!("not serve"),
            }
        };
        // Unless the environment running the tests names one already.
        if std::env::var_os("TENURE_SERVER_METRICS_LISTEN").is_none() {
            assert_eq!(metrics_of(&[]).unwrap(), None);
        }
        assert_eq!(
            metrics_of(&["--metrics-listen", "10.0.0.1:9441"]).unwrap(),
            Some("10.0.0.1:9441".parse().unwrap())
        );
        let wrong = metrics_of(&["--metrics-listen", "metrics.local"]).unwrap_err();
        assert!(wrong.to_string().contains("--metrics-listen"), "{wrong}");
    }
}
