//! The steward page's read views, rendered on the server with maud (which escapes every value:
//! a customer named `<script>` shows as text). No script runs on the page.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use maud::{DOCTYPE, Markup, html};
use serde::Deserialize;
use serde_json::Value;

use super::problem::Problem;
use super::{Caller, Viewer, Web};
use crate::app::{self, AppError};
use crate::model::EntityKind;
use crate::store::{GoldenSummary, ReviewStatus, SearchQuery};

/// Rows a listing page shows.
const PAGE_ROWS: i64 = 200;

pub fn routes() -> Router<Arc<Web>> {
    Router::new()
        .route("/", get(search))
        .route("/records/{entity}/{id}", get(record))
        .route("/reviews", get(reviews))
        .route("/quarantine", get(quarantine))
        .route("/runs", get(runs))
}

/// Headers every page carries: no framing, no scripts, forms post only here.
const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// A page as a response with its security headers.
pub fn respond(status: StatusCode, page: Markup) -> Response {
    (
        status,
        [
            (header::CONTENT_SECURITY_POLICY, CSP),
            (header::X_FRAME_OPTIONS, "DENY"),
            (header::REFERRER_POLICY, "same-origin"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        page,
    )
        .into_response()
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:0;color:#222}\
header{background:#234;color:#fff;padding:.6em 1em;display:flex;gap:1.2em;align-items:center}\
header a{color:#fff}main{padding:1em}table{border-collapse:collapse;margin:.5em 0 1.2em}\
td,th{border:1px solid #ccc;padding:.25em .5em;text-align:left;vertical-align:top}\
th{background:#f0f0f0}.note{background:#fff7d6;border:1px solid #e5c100;padding:.5em}\
.error{background:#fde;border:1px solid #c33;padding:.5em}.ok{background:#e6f7e6;border:1px solid #3a3;padding:.5em}\
.item{border:1px solid #bbb;padding:.6em;margin:.8em 0}pre{white-space:pre-wrap;margin:0}\
.who{margin-left:auto}form.inline{display:inline}";

/// The frame of every page: navigation, who is logged in, and the read-only notice.
pub fn layout(web: &Web, viewer: Option<&Viewer>, title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                title { (title) " · Concord" }
                style { (STYLE) }
            }
            body {
                header {
                    strong { "Concord" }
                    a href="/" { "Search" }
                    a href="/reviews" { "Review queue" }
                    a href="/quarantine" { "Quarantine" }
                    a href="/runs" { "Runs" }
                    span.who {
                        @if let Some(viewer) = viewer {
                            "Logged in as " strong #user { (viewer.name) }
                            @if viewer.has_session {
                                " "
                                form.inline method="post" action="/logout" {
                                    input type="hidden" name="csrf" value=(viewer.csrf);
                                    button type="submit" { "Log out" }
                                }
                            }
                        } @else if web.auth.has_passwords() {
                            a href="/login" { "Log in" }
                        }
                    }
                }
                main {
                    @if !web.auth.enabled() {
                        p.note #read-only {
                            "Read-only: no login is configured (serve.auth), so review decisions cannot be made here. "
                            "Use `concord review accept|reject`, or configure logins."
                        }
                    }
                    h1 { (title) }
                    (body)
                }
            }
        }
    }
}

/// A page that says what went wrong.
fn error_page(web: &Web, viewer: Option<&Viewer>, error: AppError) -> Response {
    let problem = Problem::from(error);
    respond(
        problem.status(),
        layout(
            web,
            viewer,
            &problem.title,
            html! { p.error { (problem.detail) } },
        ),
    )
}

/// Where a request without a login goes: the login form, or a refusal when no one can log in
/// here (only a proxy's header admits).
pub fn login_required(web: &Web, back: &str) -> Response {
    if web.auth.has_passwords() {
        let target = format!("/login?next={}", encode(back));
        return (StatusCode::SEE_OTHER, [(header::LOCATION, target.as_str())]).into_response();
    }
    respond(
        StatusCode::UNAUTHORIZED,
        layout(
            web,
            None,
            "Login required",
            html! { p.error { "Reach this page through the reverse proxy that logs you in." } },
        ),
    )
}

/// Percent-encodes a query value.
pub fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The viewer of a page, or the response that sends them to log in.
fn gate(web: &Web, caller: Caller, uri: &Uri) -> Result<Option<Viewer>, Box<Response>> {
    match (web.auth.enabled(), caller.0) {
        (true, None) => Err(Box::new(login_required(
            web,
            uri.path_and_query().map_or("/", |p| p.as_str()),
        ))),
        (_, viewer) => Ok(viewer),
    }
}

fn record_link(entity: EntityKind, id: &str) -> String {
    format!("/records/{}/{}", entity.as_str(), encode(id))
}

/// A field's value for people: text as it is, a list one item a line, an object (an address, a
/// contact) as `key: value` pairs.
fn value_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Null => String::new(),
        Value::Array(items) => items.iter().map(value_text).collect::<Vec<_>>().join("\n"),
        Value::Object(fields) => fields
            .iter()
            .map(|(key, value)| format!("{key}: {}", value_text(value)))
            .collect::<Vec<_>>()
            .join(", "),
        other => other.to_string(),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct SearchForm {
    q: Option<String>,
    entity: Option<String>,
}

async fn search(
    State(web): State<Arc<Web>>,
    caller: Caller,
    uri: Uri,
    Query(form): Query<SearchForm>,
) -> Response {
    let viewer = match gate(&web, caller, &uri) {
        Ok(viewer) => viewer,
        Err(response) => return *response,
    };
    let kind = form
        .entity
        .as_deref()
        .and_then(EntityKind::parse)
        .unwrap_or(EntityKind::Customer);
    let q = form.q.unwrap_or_default();
    let query = SearchQuery {
        any: Some(q.clone()),
        ..Default::default()
    };
    let hits = match query.is_empty() {
        true => None,
        false => Some(app::search(web.store.as_ref(), kind, &query, PAGE_ROWS).await),
    };
    let body = html! {
        form method="get" action="/" {
            select name="entity" {
                @for option in [EntityKind::Customer, EntityKind::Product] {
                    option value=(option.as_str()) selected[option == kind] { (option.as_str()) }
                }
            }
            " "
            input type="search" name="q" value=(q) size="40" autofocus
                placeholder="name, tax ID, email or phone";
            " "
            button type="submit" { "Search" }
        }
        @match hits {
            None => p { "Search golden records by name, tax ID, email or phone, or paste a golden ID." }
            Some(Err(error)) => p.error { (Problem::from(error).detail) }
            Some(Ok(hits)) => (hits_table(kind, &hits))
        }
    };
    respond(
        StatusCode::OK,
        layout(&web, viewer.as_ref(), "Search", body),
    )
}

fn hits_table(kind: EntityKind, hits: &[GoldenSummary]) -> Markup {
    html! {
        @if hits.is_empty() {
            p #no-hits { "No golden record matches." }
        } @else {
            table #hits {
                tr { th { "golden ID" } th { "name" } th { "tax ID" } th { "email" } th { "phone" } th { "city" } }
                @for hit in hits {
                    @let [name, tax_id, email, phone, city] = app::headline(&hit.record);
                    tr {
                        td { a href=(record_link(kind, &hit.id)) { (hit.id) } }
                        td { (name) } td { (tax_id) } td { (email) } td { (phone) } td { (city) }
                    }
                }
            }
        }
    }
}

async fn record(
    State(web): State<Arc<Web>>,
    caller: Caller,
    uri: Uri,
    Path((entity, id)): Path<(String, String)>,
) -> Response {
    let viewer = match gate(&web, caller, &uri) {
        Ok(viewer) => viewer,
        Err(response) => return *response,
    };
    let Some(kind) = EntityKind::parse(&entity) else {
        return error_page(
            &web,
            viewer.as_ref(),
            AppError::NotFound(format!("no kind of record `{entity}`")),
        );
    };
    let view = match app::golden_record(web.store.as_ref(), kind, &id).await {
        Ok(view) => view,
        Err(error) => return error_page(&web, viewer.as_ref(), error),
    };
    let state = &view.state;
    let mut linked = Vec::new();
    let referrers: &[EntityKind] = match kind {
        EntityKind::Customer => &[EntityKind::Order],
        EntityKind::Product => &[EntityKind::Bom, EntityKind::Order],
        _ => &[],
    };
    for referrer in referrers {
        match web.store.linked(&state.id, *referrer, PAGE_ROWS).await {
            Ok(records) => linked.push((*referrer, records)),
            Err(error) => return error_page(&web, viewer.as_ref(), error.into()),
        }
    }
    let [name, ..] = app::headline(&state.record);
    let title = if name.is_empty() {
        state.id.clone()
    } else {
        name
    };
    let body = html! {
        p { (kind.as_str()) " " code #golden-id { (state.id) } ", version " (state.version)
            @if state.deleted { " (deleted)" } }
        @if let Some(asked) = &view.merged_away {
            p.note { (asked) " was merged into this record." }
        }
        h2 { "Fields" }
        table #fields {
            tr { th { "field" } th { "value" } th { "source" } th { "changed at the source" } }
            @for (field, value) in &state.record {
                @let source = state.lineage.get(field);
                tr {
                    td { (field) }
                    td { pre { (value_text(value)) } }
                    td.source { @if let Some(s) = source { (s.source) ":" (s.key) } }
                    td { @if let Some(at) = source.and_then(|s| s.changed_at) { (at.to_rfc3339()) } }
                }
            }
        }
        h2 { "Source records" }
        table #sources {
            tr { th { "source:key" } th { "read from" } th { "changed at the source" } th { "deleted" } }
            @for c in &state.contributors {
                tr {
                    td { (c.source) ":" (c.key) } td { (c.origin) }
                    td { @if let Some(at) = c.changed_at { (at.to_rfc3339()) } }
                    td { @if c.deleted { "deleted" } }
                }
            }
        }
        @for (referrer, records) in &linked {
            h2 { "Linked " (referrer.as_str()) "s" }
            @if records.is_empty() {
                p { "None." }
            } @else {
                table id=(format!("linked-{}", referrer.as_str())) {
                    tr { th { "golden ID" } th { "number / product" } th { "date" } th { "total" } th { "status" } }
                    @for r in records {
                        @let text = |f: &str| r.record.get(f).map(value_text).unwrap_or_default();
                        tr {
                            td { a href=(record_link(*referrer, &r.id)) { (r.id) } }
                            td { (text("order_number")) (text("product_ref")) }
                            td { (text("order_date")) }
                            td { (text("total_amount")) " " (text("currency")) }
                            td { (text("status")) }
                        }
                    }
                }
            }
        }
        h2 { "History" }
        table #history {
            tr { th { "version" } th { "at" } th { "run" } th { "changed fields" } }
            @for v in view.history.iter().rev() {
                tr {
                    td { (v.version) @if v.deleted { " (deleted)" } }
                    td { (v.at.to_rfc3339()) } td { (v.run_id) }
                    td { (v.changed.join(", ")) }
                }
            }
        }
        @if !view.pending.is_empty() {
            h2 { "References waiting for their target" }
            ul { @for p in &view.pending { li { (p.entity.as_str()) " " (p.source) ":" (p.key) } } }
        }
        @if !view.notes.is_empty() {
            h2 { "Data-quality notes" }
            ul { @for n in &view.notes { li { (n.entry.source) ":" (n.entry.key) " " (n.entry.field) ": " (n.entry.reason) } } }
        }
    };
    respond(StatusCode::OK, layout(&web, viewer.as_ref(), &title, body))
}

#[derive(Debug, Default, Deserialize)]
pub struct Outcome {
    done: Option<String>,
}

async fn reviews(
    State(web): State<Arc<Web>>,
    caller: Caller,
    uri: Uri,
    Query(outcome): Query<Outcome>,
) -> Response {
    let viewer = match gate(&web, caller, &uri) {
        Ok(viewer) => viewer,
        Err(response) => return *response,
    };
    let items = match web.store.reviews(Some(ReviewStatus::Open), PAGE_ROWS).await {
        Ok(items) => items,
        Err(error) => return error_page(&web, viewer.as_ref(), error.into()),
    };
    let mut ids: Vec<&str> = Vec::new();
    for item in &items {
        ids.extend([item.left_id.as_str(), item.right_id.as_str()]);
    }
    let names = match web.store.golden_records(&ids).await {
        Ok(records) => records,
        Err(error) => return error_page(&web, viewer.as_ref(), error.into()),
    };
    let name = |id: &str| {
        names
            .get(id)
            .map(|r| app::headline(r)[0].clone())
            .unwrap_or_default()
    };
    let can_decide = viewer.is_some();
    let body = html! {
        @if let Some(done) = &outcome.done { p.ok #done { (done) } }
        @if items.is_empty() { p #empty { "No open review items." } }
        @for item in &items {
            div.item id=(format!("review-{}", item.id)) {
                p {
                    strong { "#" (item.id) } " " (item.entity.as_str()) " · rule " (item.rule)
                    " · score " (format!("{:.2}", item.score)) " · raised by " (item.source) ":" (item.key)
                }
                table {
                    tr { th { "left" } th { "right" } }
                    tr {
                        td { a href=(record_link(item.entity, &item.left_id)) { (item.left_id) } br; (name(&item.left_id)) }
                        td { a href=(record_link(item.entity, &item.right_id)) { (item.right_id) } br; (name(&item.right_id)) }
                    }
                }
                (evidence(&item.evidence))
                @for (action, label) in [("accept", "Accept (merge)"), ("reject", "Reject (keep apart)")] {
                    form.inline method="post" action=(format!("/reviews/{}/{action}", item.id)) {
                        @if let Some(viewer) = &viewer { input type="hidden" name="csrf" value=(viewer.csrf); }
                        button type="submit" name="action" value=(action) disabled[!can_decide] { (label) }
                    }
                    " "
                }
            }
        }
    };
    respond(
        StatusCode::OK,
        layout(&web, viewer.as_ref(), "Review queue", body),
    )
}

/// A review's evidence: each comparison with both values, its level and weight.
fn evidence(evidence: &Value) -> Markup {
    let Some(comparisons) = evidence.get("comparisons").and_then(Value::as_array) else {
        return html! { pre.evidence { (serde_json::to_string_pretty(evidence).unwrap_or_default()) } };
    };
    let field = |c: &Value, name: &str| c.get(name).map(value_text).unwrap_or_default();
    html! {
        table.evidence {
            tr { th { "comparison" } th { "left" } th { "right" } th { "level" } th { "weight" } }
            @for c in comparisons {
                tr {
                    td { (field(c, "comparison")) } td { (field(c, "left")) } td { (field(c, "right")) }
                    td { (field(c, "level")) }
                    td { (c.get("weight").and_then(Value::as_f64).map(|w| format!("{w:+.2}")).unwrap_or_default()) }
                }
            }
        }
        @if let Some(total) = evidence.get("total").or_else(|| evidence.get("score")) {
            p { "total " (value_text(total)) }
        }
    }
}

async fn quarantine(State(web): State<Arc<Web>>, caller: Caller, uri: Uri) -> Response {
    let viewer = match gate(&web, caller, &uri) {
        Ok(viewer) => viewer,
        Err(response) => return *response,
    };
    let entries = match web.store.quarantined(PAGE_ROWS).await {
        Ok(entries) => entries,
        Err(error) => return error_page(&web, viewer.as_ref(), error.into()),
    };
    let body = html! {
        @if entries.is_empty() { p { "Nothing is quarantined." } }
        @else {
            table #quarantine {
                tr { th { "#" } th { "last seen" } th { "source" } th { "read from" } th { "key" } th { "reason" } th { "times" } th { "record" } }
                @for e in &entries {
                    tr {
                        td { (e.id) } td { (e.at.to_rfc3339()) } td { (e.entry.source) } td { (e.entry.origin) }
                        td { (e.entry.key.clone().unwrap_or_default()) } td.reason { (e.entry.reason) } td { (e.times_seen) }
                        td { details { summary { "payload" } pre { (serde_json::to_string_pretty(&e.entry.payload).unwrap_or_default()) } } }
                    }
                }
            }
        }
    };
    respond(
        StatusCode::OK,
        layout(&web, viewer.as_ref(), "Quarantine", body),
    )
}

async fn runs(State(web): State<Arc<Web>>, caller: Caller, uri: Uri) -> Response {
    let viewer = match gate(&web, caller, &uri) {
        Ok(viewer) => viewer,
        Err(response) => return *response,
    };
    let runs = match web.store.runs(50).await {
        Ok(runs) => runs,
        Err(error) => return error_page(&web, viewer.as_ref(), error.into()),
    };
    let body = html! {
        table #runs {
            tr { th { "run" } th { "source" } th { "started" } th { "finished" } th { "status" } th { "counts" } th { "error" } }
            @for r in &runs {
                tr {
                    td { (r.id) } td { (r.source) @if r.full { " (full)" } } td { (r.started_at.to_rfc3339()) }
                    td { @if let Some(at) = r.finished_at { (at.to_rfc3339()) } } td { (r.status) }
                    td { @if let Some(stats) = &r.stats { pre { (stats) } } }
                    td { (r.error.clone().unwrap_or_default()) }
                }
            }
        }
    };
    respond(
        StatusCode::OK,
        layout(&web, viewer.as_ref(), "Last runs", body),
    )
}

/// Unknown paths: a problem under `/api/`, a page elsewhere.
pub async fn not_found(State(web): State<Arc<Web>>, uri: Uri) -> Response {
    let detail = format!("nothing at {}", uri.path());
    if uri.path().starts_with("/api/") {
        return Problem::new(StatusCode::NOT_FOUND, detail).into_response();
    }
    respond(
        StatusCode::NOT_FOUND,
        layout(&web, None, "Not found", html! { p.error { (detail) } }),
    )
}
