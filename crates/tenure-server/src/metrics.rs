//! Prometheus metrics at `GET /metrics`: requests and latency by route and status, the writer's
//! batch sizes and commit times, and refusals by reason. Recorded with the `metrics` facade; the
//! exporter renders them on demand (no extra listener).

use std::sync::OnceLock;
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Latency buckets, in seconds: from a health check to a slow batch.
const SECONDS_BUCKETS: &[f64] = &[
    0.000_5, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];
/// Batch-size buckets, in writes (a batch holds at most [`crate::store::MAX_BATCH`]).
const BATCH_BUCKETS: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0];
/// How often recorded samples are folded into their histograms.
const UPKEEP_EVERY: Duration = Duration::from_secs(5);
/// The name of the thread that does it (tests look for it).
pub const UPKEEP_THREAD: &str = "tenure-metrics";

/// The process-wide exporter (installed once; every server in the process shares it).
pub fn handle() -> Option<&'static PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE.get_or_init(install).as_ref()
}

/// Histograms with fixed buckets rather than summaries: buckets add up across instances behind
/// a load balancer, quantiles do not. The recorder keeps every sample until upkeep folds it
/// into its buckets, and nothing else does that but a scrape: without the upkeep thread an
/// unscraped server grows by two samples per request, forever.
fn install() -> Option<PrometheusHandle> {
    let built = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), SECONDS_BUCKETS)
        .and_then(|b| {
            b.set_buckets_for_metric(Matcher::Full("tenure_batch_size".into()), BATCH_BUCKETS)
        })
        .and_then(PrometheusBuilder::install_recorder);
    let handle = match built {
        Ok(handle) => handle,
        Err(e) => {
            tracing::warn!(error = %e, "metrics are not recorded");
            return None;
        }
    };
    let upkept = handle.clone();
    let spawned = std::thread::Builder::new()
        .name(UPKEEP_THREAD.into())
        .spawn(move || {
            loop {
                std::thread::sleep(UPKEEP_EVERY);
                upkept.run_upkeep();
            }
        });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "cannot start the metrics' upkeep: samples are kept until /metrics is scraped");
    }
    Some(handle)
}

/// One HTTP request answered.
pub fn request(route: &str, status: u16, elapsed: Duration) {
    let labels = [("route", route.to_owned()), ("status", status.to_string())];
    metrics::counter!("tenure_http_requests_total", &labels).increment(1);
    metrics::histogram!("tenure_http_request_seconds", &labels).record(elapsed.as_secs_f64());
}

/// One batch of writes committed (or failed).
pub fn batch_committed(size: usize, elapsed: Duration, ok: bool) {
    #[expect(
        clippy::cast_precision_loss,
        reason = "a batch holds at most a few hundred writes"
    )]
    metrics::histogram!("tenure_batch_size").record(size as f64);
    metrics::histogram!("tenure_batch_commit_seconds").record(elapsed.as_secs_f64());
    if !ok {
        metrics::counter!("tenure_batch_failures_total").increment(1);
    }
}

/// A request refused, by its stable code.
pub fn refusal(code: &str) {
    metrics::counter!("tenure_refusals_total", "reason" => code.to_owned()).increment(1);
}
