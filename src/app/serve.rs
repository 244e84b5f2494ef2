//! `concord serve`: the read-only API and the steward page, until SIGTERM or Ctrl-C.

use std::io::BufRead;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio_util::sync::CancellationToken;
use tracing::info;

use super::{AppError, Context, Outcome, load, open_store, output};
use crate::web::{self, Auth, Web, Writer};

/// Serves on `listen` (or `serve.listen` of the config). Reads need no lock; a steward's
/// decision takes the writer lock as `concord review accept` does, waiting `--wait` for it.
pub async fn serve(context: &Context, listen: Option<SocketAddr>) -> Result<Outcome, AppError> {
    let config = load(context)?;
    let addr = listen.or(config.serve.listen).ok_or_else(|| {
        AppError::Usage(
            "say where to listen: `--listen 127.0.0.1:8080` or `serve: { listen: … }`".into(),
        )
    })?;
    let auth = Auth::new(config.serve.auth.clone())
        .map_err(|problem| AppError::Usage(format!("{}: {problem}", context.config.display())))?;
    let store = open_store(&config).await?;
    let web = Arc::new(Web {
        store: Arc::from(store),
        auth,
        writer: Writer::Command(context.clone()),
    });
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| crate::daemon::DaemonError::Listen { addr, source })?;
    let shown = listener.local_addr().unwrap_or(addr);
    info!(addr = %shown, read_only = !web.auth.enabled(), "serving the API and the steward page");
    crate::errln!("serving http://{shown}/ (API at /api, OpenAPI at /api/openapi.json)");
    let shutdown = CancellationToken::new();
    tokio::spawn(super::run::stop_on_signal(shutdown.clone()));
    web::serve(listener, web::router(web), shutdown)
        .await
        .map_err(|source| crate::daemon::DaemonError::Listen { addr, source })?;
    Ok(Outcome::Done)
}

/// Reads a password from the first line of stdin and prints its argon2id hash, for
/// `serve.auth.users[].password_hash`.
pub fn hash_password() -> Result<Outcome, AppError> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| AppError::Usage(format!("reading the password from stdin: {e}")))?;
    let password = line.trim_end_matches(['\r', '\n']);
    if password.is_empty() {
        return Err(AppError::Usage("give the password on stdin".into()));
    }
    let hash = web::auth::hash_password(password).map_err(AppError::Usage)?;
    output::line(hash);
    Ok(Outcome::Done)
}
