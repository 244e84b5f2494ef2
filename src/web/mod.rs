//! The read-only HTTP API and the steward page, served by `concord serve` and on the operations
//! address of `concord run`.
//!
//! - `/api/…`: golden records with lineage, search, a customer's orders and the change feed, as
//!   JSON; errors as problem details; the OpenAPI document, generated from the handlers, at
//!   `/api/openapi.json`.
//! - `/`, `/records/…`, `/reviews`, `/quarantine`, `/runs`: server-rendered pages for data
//!   stewards. Accepting or rejecting a review item is the only change they make, through the
//!   same function as `concord review accept/reject`.
//!
//! Without `serve.auth` everything is readable and nothing can be changed; with it every request
//! needs a login (see [`auth`]).

mod api;
pub mod auth;
pub mod config;
mod pages;
pub mod problem;
mod steward;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use tokio_util::sync::CancellationToken;

use crate::app::{AppError, Context};
use crate::store::Store;
use crate::sync::Pipeline;

pub use auth::{Auth, Viewer};
pub use config::{AuthConfig, ServeConfig, UserConfig};

/// How a steward's decision reaches the store.
pub enum Writer {
    /// `concord serve`: each decision takes the store's writer lock, as the command line does.
    Command(Context),
    /// Inside `concord run`: the service's own turn at the store, shared with its sources.
    Service(Arc<Pipeline>),
}

/// What every handler reads.
pub struct Web {
    pub store: Arc<dyn Store>,
    pub auth: Auth,
    pub writer: Writer,
}

impl Web {
    /// Accepts (merges) or rejects review item `id`; returns what it did, for the page.
    pub async fn decide_review(&self, id: i64, accept: bool) -> Result<String, AppError> {
        let stats = match &self.writer {
            Writer::Command(context) => crate::app::decide_review(context, id, accept).await?,
            Writer::Service(pipeline) => {
                crate::app::decide_review_in_service(pipeline, self.store.as_ref(), id, accept)
                    .await?
            }
        };
        Ok(match accept {
            true => format!(
                "review #{id} accepted: {} merged, {} events",
                stats.merged, stats.events
            ),
            false => {
                format!("review #{id} rejected: the pair will never be merged automatically")
            }
        })
    }
}

/// The viewer of a request, when logins are configured and it carries one.
pub struct Caller(pub Option<Viewer>);

impl FromRequestParts<Arc<Web>> for Caller {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        web: &Arc<Web>,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|info| info.0);
        Ok(Caller(web.auth.viewer(&parts.headers, peer)))
    }
}

/// The API, its OpenAPI document and the steward page.
pub fn router(web: Arc<Web>) -> Router {
    let (api, openapi) = api::routes().split_for_parts();
    let openapi = Arc::new(openapi);
    api.route(
        "/api/openapi.json",
        axum::routing::get(move || {
            let openapi = openapi.clone();
            async move { axum::Json(openapi.as_ref().clone()) }
        }),
    )
    .merge(pages::routes())
    .merge(steward::routes())
    .fallback(pages::not_found)
    .with_state(web)
}

/// The OpenAPI document of the API, as served at `/api/openapi.json`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    api::routes().split_for_parts().1
}

/// Serves `router` on `listener` until `shutdown` is cancelled, telling handlers each
/// connection's peer address (a trusted proxy is known by it).
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown.cancelled_owned())
    .await
}
