//! The operations endpoint: `/healthz` (the process answers), `/readyz` (the store and the
//! broker are reachable) and `/metrics` (Prometheus text).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use metrics_exporter_prometheus::PrometheusHandle;
use tokio_util::sync::CancellationToken;

use super::metrics;
use crate::store::RunLog;

/// What the endpoint reads.
pub struct Health {
    pub store: Arc<dyn RunLog>,
    /// The relay's last attempt reached the broker (always true without a bus).
    pub broker_connected: AtomicBool,
    /// A bus is configured, so readiness includes it.
    pub has_bus: bool,
    /// Renders `/metrics`; `None` when another recorder was installed first.
    pub prometheus: Option<PrometheusHandle>,
}

impl Health {
    pub fn set_broker(&self, connected: bool) {
        self.broker_connected.store(connected, Ordering::Relaxed);
    }
}

/// Serves until `shutdown` is cancelled, beside `web` (the API and the steward page).
pub async fn serve(
    listener: tokio::net::TcpListener,
    health: Arc<Health>,
    web: Router,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let app = Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(ready))
        .route("/metrics", get(render))
        .with_state(health)
        .merge(web);
    crate::web::serve(listener, app, shutdown).await
}

/// Binds the configured address, so a taken port fails start-up rather than later.
pub async fn bind(addr: SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(addr).await
}

async fn ready(State(health): State<Arc<Health>>) -> (StatusCode, String) {
    let store = match health.store.checkpoint("").await {
        Ok(_) => "store: reachable".to_string(),
        Err(error) => {
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                format!("store: unreachable: {error}\n"),
            );
        }
    };
    if health.has_bus && !health.broker_connected.load(Ordering::Relaxed) {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("{store}\nbroker: unreachable (events wait in the outbox)\n"),
        );
    }
    (StatusCode::OK, format!("{store}\nbroker: reachable\n"))
}

async fn render(State(health): State<Arc<Health>>) -> (StatusCode, String) {
    let Some(prometheus) = &health.prometheus else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "metrics are recorded by another service in this process\n".into(),
        );
    };
    match health.store.counts().await {
        Ok(counts) => metrics::store_counts(&counts, chrono::Utc::now()),
        Err(error) => tracing::warn!(%error, "store gauges not refreshed"),
    }
    (StatusCode::OK, prometheus.render())
}
