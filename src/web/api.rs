//! The read-only JSON API. Every handler is annotated for the OpenAPI document, so the document
//! cannot drift from the routes.

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, OpenApi, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::problem::Problem;
use super::{Caller, Web};
use crate::app;
use crate::model::EntityKind;
use crate::store::{GoldenSummary, SearchQuery, StoredEvent};

/// The most records or events one page holds.
const MAX_PAGE: i64 = 1_000;
/// A page's size when the request gives none.
const DEFAULT_PAGE: i64 = 100;

#[derive(OpenApi)]
#[openapi(info(
    title = "Concord API",
    description = "Read-only access to the unified customer database: golden records with the source of each field, search, a customer's orders and the change feed. Errors are problem details (RFC 9457)."
))]
struct ApiDoc;

/// The API's routes, with their OpenAPI description.
pub fn routes() -> OpenApiRouter<Arc<Web>> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(search_customers))
        .routes(routes!(customer))
        .routes(routes!(customer_orders))
        .routes(routes!(search_products))
        .routes(routes!(product))
        .routes(routes!(events))
}

/// What a search asks: `q` looks in every field; the others must all match.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// Finds records whose name contains it, or whose tax ID, email or phone is it.
    q: Option<String>,
    /// Part of the name, in any case.
    name: Option<String>,
    /// The tax ID (VAT number); spaces, dots and dashes are ignored.
    tax_id: Option<String>,
    /// An email address of the customer or one of its contacts.
    email: Option<String>,
    /// A phone number; compared by its last digits (at least 5), so `+49 30 1234567` finds
    /// `030 1234567`.
    phone: Option<String>,
    /// At most this many records (1–1000, default 100).
    limit: Option<i64>,
}

/// A page of a listing.
#[derive(Debug, Serialize, ToSchema)]
pub struct Found {
    /// The records, by golden ID.
    #[schema(value_type = Vec<Object>)]
    items: Vec<GoldenSummary>,
}

/// A page of the change feed.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventPage {
    /// Events in the order they were stored.
    #[schema(value_type = Vec<Object>)]
    items: Vec<StoredEvent>,
    /// The URL of the next page; `null` on the last page so far (ask it again later for newer
    /// events, from the last event ID seen).
    next: Option<String>,
}

/// Where the change feed starts and how much it returns.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventParams {
    /// Only events stored after this event ID (the `event_id` of the last event seen); from
    /// the first event without it.
    after: Option<String>,
    /// At most this many events (1–1000, default 100).
    limit: Option<i64>,
}

fn page_size(limit: Option<i64>) -> Result<i64, Problem> {
    match limit.unwrap_or(DEFAULT_PAGE) {
        limit if (1..=MAX_PAGE).contains(&limit) => Ok(limit),
        limit => Err(Problem::new(
            StatusCode::BAD_REQUEST,
            format!("limit {limit}: give 1 to {MAX_PAGE}"),
        )),
    }
}

fn query<T>(params: Result<Query<T>, QueryRejection>) -> Result<T, Problem> {
    params
        .map(|Query(params)| params)
        .map_err(|rejection| Problem::new(StatusCode::BAD_REQUEST, rejection.body_text()))
}

fn logged_in(web: &Web, caller: &Caller) -> Result<(), Problem> {
    match web.auth.enabled() && caller.0.is_none() {
        true => Err(Problem::new(
            StatusCode::UNAUTHORIZED,
            "log in first: on the steward page, or through the reverse proxy",
        )),
        false => Ok(()),
    }
}

async fn search(web: &Web, kind: EntityKind, params: SearchParams) -> Result<Json<Found>, Problem> {
    let limit = page_size(params.limit)?;
    let query = SearchQuery {
        any: params.q,
        name: params.name,
        tax_id: params.tax_id,
        email: params.email,
        phone: params.phone,
    };
    let items = app::search(web.store.as_ref(), kind, &query, limit).await?;
    Ok(Json(Found { items }))
}

async fn record(web: &Web, kind: EntityKind, id: &str) -> Result<Json<Value>, Problem> {
    let view = app::golden_record(web.store.as_ref(), kind, id).await?;
    let mut value = view.to_json();
    if let (Some(asked), Some(object)) = (&view.merged_away, value.as_object_mut()) {
        object.insert("merged_away".into(), Value::String(asked.clone()));
    }
    Ok(Json(value))
}

/// Search golden customers by name, tax ID, email or phone.
#[utoipa::path(get, path = "/api/customers", tag = "customers", params(SearchParams),
    responses(
        (status = 200, description = "The matching customers", body = Found),
        (status = 400, description = "Nothing to search for, or a bad limit", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Logins are configured and the request has none", body = Problem, content_type = "application/problem+json"),
    ))]
async fn search_customers(
    State(web): State<Arc<Web>>,
    caller: Caller,
    params: Result<Query<SearchParams>, QueryRejection>,
) -> Result<Json<Found>, Problem> {
    logged_in(&web, &caller)?;
    search(&web, EntityKind::Customer, query(params)?).await
}

/// A golden customer with the source of each field, its versions, data-quality notes and
/// pending references. An ID merged away answers with the record it was merged into.
#[utoipa::path(get, path = "/api/customers/{id}", tag = "customers",
    params(("id" = String, Path, description = "A golden ID (`cus_…`) or a source record as SOURCE:KEY (`sap:100001`)")),
    responses(
        (status = 200, description = "The golden record with lineage and history", body = Object),
        (status = 404, description = "No such customer", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Logins are configured and the request has none", body = Problem, content_type = "application/problem+json"),
    ))]
async fn customer(
    State(web): State<Arc<Web>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, Problem> {
    logged_in(&web, &caller)?;
    record(&web, EntityKind::Customer, &id).await
}

/// A limit of a linked listing.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LimitParams {
    /// At most this many records (1–1000, default 100).
    limit: Option<i64>,
}

/// The orders of a golden customer (those of every customer merged into it too), newest first.
#[utoipa::path(get, path = "/api/customers/{id}/orders", tag = "customers",
    params(("id" = String, Path, description = "A golden ID or SOURCE:KEY"), LimitParams),
    responses(
        (status = 200, description = "The customer's orders", body = Found),
        (status = 400, description = "A bad limit", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such customer", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Logins are configured and the request has none", body = Problem, content_type = "application/problem+json"),
    ))]
async fn customer_orders(
    State(web): State<Arc<Web>>,
    caller: Caller,
    Path(id): Path<String>,
    params: Result<Query<LimitParams>, QueryRejection>,
) -> Result<Json<Found>, Problem> {
    logged_in(&web, &caller)?;
    let limit = page_size(query(params)?.limit)?;
    let view = app::golden_record(web.store.as_ref(), EntityKind::Customer, &id).await?;
    let items = web
        .store
        .linked(&view.state.id, EntityKind::Order, limit)
        .await?;
    Ok(Json(Found { items }))
}

/// Search golden products by name (`q` or `name`).
#[utoipa::path(get, path = "/api/products", tag = "products", params(SearchParams),
    responses(
        (status = 200, description = "The matching products", body = Found),
        (status = 400, description = "Nothing to search for, or a bad limit", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Logins are configured and the request has none", body = Problem, content_type = "application/problem+json"),
    ))]
async fn search_products(
    State(web): State<Arc<Web>>,
    caller: Caller,
    params: Result<Query<SearchParams>, QueryRejection>,
) -> Result<Json<Found>, Problem> {
    logged_in(&web, &caller)?;
    search(&web, EntityKind::Product, query(params)?).await
}

/// A golden product with the source of each field and its versions.
#[utoipa::path(get, path = "/api/products/{id}", tag = "products",
    params(("id" = String, Path, description = "A golden ID (`prd_…`) or a source record as SOURCE:KEY")),
    responses(
        (status = 200, description = "The golden record with lineage and history", body = Object),
        (status = 404, description = "No such product", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Logins are configured and the request has none", body = Problem, content_type = "application/problem+json"),
    ))]
async fn product(
    State(web): State<Arc<Web>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, Problem> {
    logged_in(&web, &caller)?;
    record(&web, EntityKind::Product, &id).await
}

/// The change feed: stored events in order, a page at a time, each page linking the next.
#[utoipa::path(get, path = "/api/events", tag = "events", params(EventParams),
    responses(
        (status = 200, description = "A page of events", body = EventPage),
        (status = 400, description = "An unknown `after` event ID or a bad limit", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Logins are configured and the request has none", body = Problem, content_type = "application/problem+json"),
    ))]
async fn events(
    State(web): State<Arc<Web>>,
    caller: Caller,
    params: Result<Query<EventParams>, QueryRejection>,
) -> Result<Json<EventPage>, Problem> {
    logged_in(&web, &caller)?;
    let params = query(params)?;
    let limit = page_size(params.limit)?;
    let after = match params.after.as_deref().filter(|a| !a.is_empty()) {
        None => 0,
        Some(id) => web.store.event_seq(id).await?.ok_or_else(|| {
            Problem::new(
                StatusCode::BAD_REQUEST,
                format!("`after`: no event with ID `{id}`"),
            )
        })?,
    };
    let items = web.store.events(after, limit).await?;
    let next = match items.last() {
        Some(last) if items.len() as i64 == limit => Some(format!(
            "/api/events?after={}&limit={limit}",
            last.event.event_id
        )),
        _ => None,
    };
    Ok(Json(EventPage { items, next }))
}
