//! Prometheus metrics at `GET /metrics`: requests and latency by route and status, the writer's
//! batch sizes and commit times, and refusals by reason. Recorded with the `metrics` facade; the
//! exporter renders them on demand (no extra listener).

use std::sync::OnceLock;
use std::time::Duration;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

/// The process-wide exporter (installed once; every server in the process shares it).
pub fn handle() -> Option<&'static PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| match PrometheusBuilder::new().install_recorder() {
            Ok(handle) => Some(handle),
            Err(e) => {
                tracing::warn!(error = %e, "metrics are not recorded");
                None
            }
        })
        .as_ref()
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
