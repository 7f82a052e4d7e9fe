//! Prometheus metrics, served on a listener of their own (`serve --metrics-listen ADDR`), never on
//! the API's.
//!
//! Recording goes through the `metrics` facade: without an installed recorder every call is a
//! no-op, with one it is a few atomic operations, so the hot path pays almost nothing either way.
//! The recorder is process-wide and installed at most once; every [`crate::Application`] of the
//! process that asks for a metrics listener serves the same registry.
//!
//! Names (all prefixed `clickbill_`):
//! - `api_requests_total{method,code}`: `/api/*` requests by canonical method name (`unknown` for
//!   an unknown one) and the envelope's `error_code` (`replayed` for an idempotent replay).
//! - `api_request_duration_seconds{method}`: their latency, as a histogram.
//! - `http_connections_open`: client connections currently open on the API listener.
//! - `tenant_cache_hits_total`, `tenant_cache_misses_total`, `tenant_cache_reloads_total`.
//! - `sqlite_writer_queue_depth`, `sqlite_writer_batch_size`, `sqlite_writer_commits_total`:
//!   recorded by the SQLite store's writer thread.
//! - `sqlite_order_cache_hits_total`, `sqlite_order_cache_misses_total`: order reads the SQLite
//!   store answered from memory, or had to query.
//! - `outbox_backlog`: notifications waiting to be delivered (pending deliveries of every
//!   tenant), refreshed by the notification worker about once a second.

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;
use std::time::Duration;

/// The metric names, so that recorders and tests agree on them.
pub mod names {
    pub const API_REQUESTS: &str = "clickbill_api_requests_total";
    pub const API_REQUEST_DURATION: &str = "clickbill_api_request_duration_seconds";
    pub const HTTP_CONNECTIONS_OPEN: &str = "clickbill_http_connections_open";
    pub const TENANT_CACHE_HITS: &str = "clickbill_tenant_cache_hits_total";
    pub const TENANT_CACHE_MISSES: &str = "clickbill_tenant_cache_misses_total";
    pub const TENANT_CACHE_RELOADS: &str = "clickbill_tenant_cache_reloads_total";
    pub const OUTBOX_BACKLOG: &str = "clickbill_outbox_backlog";
}

/// Latency buckets in seconds: a cached read takes tens of microseconds, a durable write a few
/// milliseconds, anything near a second is an incident.
const LATENCY_BUCKETS: &[f64] = &[
    0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
    1.0, 2.5, 10.0,
];

/// Writer batch sizes: 1 when idle, up to the batch limit under load.
const BATCH_BUCKETS: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0];

/// The recorder could not be installed: another one already is.
#[derive(Debug, thiserror::Error)]
#[error("cannot install the metrics recorder: {0}")]
pub struct MetricsError(String);

static HANDLE: OnceLock<Result<PrometheusHandle, String>> = OnceLock::new();

/// Installs the process-wide Prometheus recorder (once) and returns a handle that renders it.
pub fn install() -> Result<PrometheusHandle, MetricsError> {
    HANDLE
        .get_or_init(|| {
            PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), LATENCY_BUCKETS)
                .and_then(|b| {
                    b.set_buckets_for_metric(
                        Matcher::Full("clickbill_sqlite_writer_batch_size".into()),
                        BATCH_BUCKETS,
                    )
                })
                .map_err(|e| e.to_string())
                .and_then(|b| b.install_recorder().map_err(|e| e.to_string()))
        })
        .clone()
        .map_err(MetricsError)
}

/// Sets the number of notification events waiting for delivery.
pub(crate) fn set_outbox_backlog(events: u64) {
    #[allow(clippy::cast_precision_loss)] // A gauge is an f64; backlogs stay far below 2^52.
    metrics::gauge!(names::OUTBOX_BACKLOG).set(events as f64);
}

/// Records one finished `/api/*` request.
pub(crate) fn api_request(method: &'static str, code: Option<i64>, elapsed: Duration) {
    let code = code.map_or_else(|| "replayed".to_owned(), |c| c.to_string());
    metrics::counter!(names::API_REQUESTS, "method" => method, "code" => code).increment(1);
    metrics::histogram!(names::API_REQUEST_DURATION, "method" => method)
        .record(elapsed.as_secs_f64());
}

pub(crate) fn tenant_lookup(found: bool) {
    if found {
        metrics::counter!(names::TENANT_CACHE_HITS).increment(1);
    } else {
        metrics::counter!(names::TENANT_CACHE_MISSES).increment(1);
    }
}

pub(crate) fn tenant_reload() {
    metrics::counter!(names::TENANT_CACHE_RELOADS).increment(1);
}

/// Counts an open client connection for as long as it lives.
pub(crate) struct OpenConnection(());

impl OpenConnection {
    pub(crate) fn new() -> OpenConnection {
        metrics::gauge!(names::HTTP_CONNECTIONS_OPEN).increment(1.0);
        OpenConnection(())
    }
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        metrics::gauge!(names::HTTP_CONNECTIONS_OPEN).decrement(1.0);
    }
}

/// Serves `GET /metrics` on `listener` until the task is dropped, and runs the recorder's upkeep.
pub(crate) async fn serve(listener: tokio::net::TcpListener, handle: PrometheusHandle) {
    use axum::routing::get;
    let upkeep_handle = handle.clone();
    let upkeep = async move {
        let mut ticker = tokio::time::interval(Duration::from_secs(5));
        loop {
            ticker.tick().await;
            upkeep_handle.run_upkeep();
        }
    };
    let router = axum::Router::new().route(
        "/metrics",
        get(move || {
            let handle = handle.clone();
            async move {
                (
                    [(
                        http::header::CONTENT_TYPE,
                        "text/plain; version=0.0.4; charset=utf-8",
                    )],
                    handle.render(),
                )
            }
        }),
    );
    let served = async move {
        if let Err(error) = axum::serve(listener, router).await {
            tracing::warn!(%error, "the metrics listener failed");
        }
    };
    tokio::join!(upkeep, served);
}
