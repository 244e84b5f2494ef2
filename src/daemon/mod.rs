//! The service (`concord run`): every source on its own schedule, the outbox relayed
//! continuously, health and metrics on the operations address, and a clean stop on SIGTERM.
//!
//! Each source has one task, so a source never runs twice at once; a failing source backs off
//! without holding the others back. Runs take turns at the store's writer (see
//! [`crate::sync`]), and on a shared store each source and the relay are held by one instance at
//! a time: an instance that finds one held tries again every `takeover_every`, and takes it over
//! once its holder is gone. After source runs one task values the customers (see
//! [`crate::value`]), a pass at a time.

pub mod metrics;
mod ops;
mod value;

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

use crate::config::{OperationsConfig, Schedule, service::DEFAULT_EVERY};
use crate::publish::{BusConfig, Relay};
use crate::store::Store;
use crate::store::lock::{Lease, LockError, Scope};
use crate::sync::{NoProgress, Pipeline, SyncError, SyncOptions};

pub use ops::{Health, serve_with_peers};

/// Why the service could not start.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error("operations address {addr}: {source}")]
    Listen {
        addr: std::net::SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("serve.auth: {0}")]
    Auth(String),
}

/// Routes a front end adds to the operations address (the API and the steward page), built by
/// the caller once the service's store and pipeline exist; an error is a bad setting.
pub type ExtraRoutes =
    Box<dyn FnOnce(Arc<dyn Store>, Arc<Pipeline>) -> Result<axum::Router, String> + Send>;

/// Runs until `shutdown` is cancelled, then lets the batches and confirms in flight finish for
/// up to the configured grace period.
pub async fn serve(
    pipeline: Arc<Pipeline>,
    store: Arc<dyn Store>,
    extra: ExtraRoutes,
    shutdown: CancellationToken,
) -> Result<(), DaemonError> {
    let config = pipeline.config();
    let operations = config.operations.clone();
    let bus = config.bus.clone().filter(BusConfig::is_enabled);
    let health = Arc::new(Health {
        store: store.clone(),
        broker_connected: AtomicBool::new(false),
        has_bus: bus.is_some(),
        prometheus: metrics::install(),
    });
    let mut tasks = JoinSet::new();
    if let Some(addr) = operations.listen {
        let listener = ops::bind(addr)
            .await
            .map_err(|source| DaemonError::Listen { addr, source })?;
        info!(%addr, "operations endpoint: /healthz, /readyz, /metrics, the API and the steward page");
        let extra = extra(store.clone(), pipeline.clone()).map_err(DaemonError::Auth)?;
        let (health, shutdown) = (health.clone(), shutdown.clone());
        tasks.spawn(async move {
            if let Err(error) = ops::serve(listener, health, extra, shutdown).await {
                error!(%error, "operations endpoint stopped");
            }
        });
    }
    let committed = Arc::new(Notify::new());
    let runs = Arc::new(Notify::new());
    tasks.spawn(
        value::ValueRunner {
            pipeline: pipeline.clone(),
            store: store.clone(),
            runs: runs.clone(),
            committed: committed.clone(),
            shutdown: shutdown.clone(),
        }
        .run(),
    );
    for source in &config.sources {
        let schedule = source.schedule.clone().unwrap_or_else(|| {
            info!(
                source = source.name,
                "no schedule: the source runs every {}",
                humantime::format_duration(DEFAULT_EVERY)
            );
            Schedule::every(DEFAULT_EVERY)
        });
        let runner = SourceRunner {
            pipeline: pipeline.clone(),
            store: store.clone(),
            name: source.name.clone(),
            schedule,
            operations: operations.clone(),
            committed: committed.clone(),
            runs: runs.clone(),
            shutdown: shutdown.clone(),
        };
        tasks.spawn(runner.run());
    }
    match bus {
        Some(bus) => {
            let relay = RelayRunner {
                pipeline: pipeline.clone(),
                store: store.clone(),
                bus,
                operations: operations.clone(),
                committed,
                health: health.clone(),
                shutdown: shutdown.clone(),
            };
            tasks.spawn(relay.run());
        }
        None => info!("no message bus configured: events stay in the outbox"),
    }
    info!(sources = config.sources.len(), "service started");
    shutdown.cancelled().await;
    info!(
        grace_s = operations.shutdown_grace.as_secs(),
        "shutting down: finishing the batches and confirms in flight"
    );
    let finished = tokio::time::timeout(operations.shutdown_grace, async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    if finished.is_err() {
        warn!(
            "the grace period ended with work in flight: what was not committed is read again next run"
        );
        tasks.abort_all();
    }
    info!("service stopped");
    Ok(())
}

/// Sleeps until `deadline`; false when the shutdown came first.
async fn sleep_until(deadline: chrono::DateTime<Utc>, shutdown: &CancellationToken) -> bool {
    let wait = (deadline - Utc::now()).to_std().unwrap_or_default();
    tokio::select! {
        _ = shutdown.cancelled() => false,
        _ = tokio::time::sleep(wait) => true,
    }
}

/// One source's loop: hold the source, wait for its time, run, back off after failures.
struct SourceRunner {
    pipeline: Arc<Pipeline>,
    store: Arc<dyn Store>,
    name: String,
    schedule: Schedule,
    operations: OperationsConfig,
    committed: Arc<Notify>,
    /// Wakes the customer value pass after each run.
    runs: Arc<Notify>,
    shutdown: CancellationToken,
}

impl SourceRunner {
    async fn run(self) {
        let held = hold(
            &self.pipeline,
            Scope::Source(&self.name),
            &self.operations,
            &self.shutdown,
        );
        let Some(_lease) = held.await else {
            return;
        };
        metrics::source_held(&self.name, true);
        let mut last_start = None;
        let mut failures: u32 = 0;
        loop {
            let mut next = self.schedule.next_start(last_start, Utc::now());
            if failures > 0
                && let Some(last) = last_start
            {
                next = next.max(last + self.backoff(failures));
            }
            if !sleep_until(next, &self.shutdown).await {
                return;
            }
            last_start = Some(Utc::now());
            let started = std::time::Instant::now();
            let options = SyncOptions {
                source: Some(self.name.clone()),
                cancel: self.shutdown.clone(),
                command: "run".into(),
                ..SyncOptions::default()
            };
            match self
                .pipeline
                .sync_source(self.store.as_ref(), &self.name, &options, &NoProgress)
                .await
            {
                Ok(summary) => {
                    failures = 0;
                    self.runs.notify_one();
                    metrics::run_succeeded(&summary);
                    if summary.reconcile.events > 0 {
                        self.committed.notify_one();
                    }
                }
                Err(SyncError::Cancelled(_)) => {
                    self.committed.notify_one();
                    return;
                }
                Err(error) => {
                    failures = failures.saturating_add(1);
                    metrics::run_failed(&self.name, started.elapsed());
                    // What was read before the failure is committed and its events queued.
                    self.committed.notify_one();
                    self.runs.notify_one();
                    warn!(
                        source = self.name,
                        failures,
                        retry_in_s = self.backoff(failures).num_seconds(),
                        %error,
                        "source run failed; backing off"
                    );
                }
            }
        }
    }

    /// The wait before the next try after `failures` failures in a row: the schedule's interval
    /// (a minute for cron schedules), doubled per failure, at most `max_backoff`.
    fn backoff(&self, failures: u32) -> chrono::Duration {
        let base = self.schedule.every.unwrap_or(Duration::from_secs(60));
        let factor = 2u32.saturating_pow(failures.saturating_sub(1).min(16));
        let wait = base.saturating_mul(factor).min(self.operations.max_backoff);
        chrono::Duration::from_std(wait).unwrap_or_default()
    }
}

/// Holds a lock for the life of the service, trying again every `takeover_every` while another
/// instance holds it; `None` once the shutdown came first.
async fn hold(
    pipeline: &Pipeline,
    scope: Scope<'_>,
    operations: &OperationsConfig,
    shutdown: &CancellationToken,
) -> Option<Lease> {
    let mut said = false;
    loop {
        match pipeline.locks().acquire(scope, "run", None).await {
            Ok(lease) => {
                if said {
                    info!(?scope, "taken over from an instance that let go");
                }
                return Some(lease);
            }
            Err(LockError::Held { holder, .. }) if !said => {
                info!(
                    ?scope,
                    holder, "held by another instance; waiting to take over"
                );
                said = true;
            }
            Err(LockError::Held { .. }) => {}
            Err(error) => warn!(?scope, %error, "cannot take the lock; trying again"),
        }
        if !sleep_until(
            Utc::now() + chrono::Duration::from_std(operations.takeover_every).unwrap_or_default(),
            shutdown,
        )
        .await
        {
            return None;
        }
    }
}

/// The relay's loop: drain the outbox whenever a run committed events or the interval passed.
struct RelayRunner {
    pipeline: Arc<Pipeline>,
    store: Arc<dyn Store>,
    bus: BusConfig,
    operations: OperationsConfig,
    committed: Arc<Notify>,
    health: Arc<Health>,
    shutdown: CancellationToken,
}

impl RelayRunner {
    async fn run(self) {
        let Some(_lease) = hold(
            &self.pipeline,
            Scope::Relay,
            &self.operations,
            &self.shutdown,
        )
        .await
        else {
            return;
        };
        let mut connected = false;
        let mut failures: u32 = 0;
        loop {
            // Events committed before a shutdown still go out: the last pass runs after it.
            let stopping = self.shutdown.is_cancelled();
            let due = !connected || self.has_pending().await;
            if due {
                let mut relay = Relay::new(self.store.as_ref(), &self.bus);
                let result = relay.drain().await.map(|_| ()).map_err(|e| e.to_string());
                connected = result.is_ok();
                metrics::relay_drained(relay.report(), connected);
                self.health.set_broker(connected);
                match result {
                    Ok(_) => failures = 0,
                    Err(error) => {
                        failures = failures.saturating_add(1);
                        warn!(%error, failures, "publishing stopped; events wait in the outbox");
                    }
                }
            }
            if stopping {
                return;
            }
            let wait = if failures == 0 {
                self.operations.relay_interval
            } else {
                self.operations
                    .relay_interval
                    .saturating_mul(2u32.saturating_pow(failures.min(10)))
                    .min(Duration::from_secs(60))
            };
            tokio::select! {
                _ = self.shutdown.cancelled() => {}
                _ = self.committed.notified() => {}
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }

    async fn has_pending(&self) -> bool {
        match self.store.pending_events(0, 1).await {
            Ok(events) => !events.is_empty(),
            Err(error) => {
                warn!(%error, "cannot read the outbox");
                false
            }
        }
    }
}
