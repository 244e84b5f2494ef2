//! `concord run`: the service, until SIGTERM or Ctrl-C.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;
use tracing::info;

use super::{AppError, Context, Outcome, Writes, load, open_writer};
use crate::daemon;
use crate::sync::Pipeline;

/// Runs the service under the store's writer lock (on SQLite the whole store for the service's
/// life; on PostgreSQL each source and the relay as the service takes them).
pub async fn run(context: &Context) -> Result<Outcome, AppError> {
    let pipeline = Arc::new(Pipeline::compile(load(context)?)?);
    let (store, _lease) = open_writer(pipeline.config(), context, "run", Writes::Sources).await?;
    let shutdown = CancellationToken::new();
    tokio::spawn(stop_on_signal(shutdown.clone()));
    daemon::serve(pipeline, Arc::from(store), shutdown).await?;
    Ok(Outcome::Done)
}

/// Cancels `shutdown` on the first SIGTERM or SIGINT.
pub(super) async fn stop_on_signal(shutdown: CancellationToken) {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = terminate => info!("SIGTERM: stopping"),
        _ = tokio::signal::ctrl_c() => info!("interrupted: stopping"),
    }
    shutdown.cancel();
}
