//! What changes through the page: logging in and out, and a steward's decision on a review item.
//! Every form that changes something carries the session's CSRF token; a request without a
//! login changes nothing.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use maud::html;
use serde::Deserialize;

use super::auth::{csrf_ok, login_form_ok};
use super::pages::{encode, layout, login_required, respond};
use super::problem::Problem;
use super::{Caller, Web};

pub fn routes() -> Router<Arc<Web>> {
    Router::new()
        .route("/login", get(login_form).post(login))
        .route("/logout", post(logout))
        .route("/reviews/{id}/{action}", post(decide))
}

#[derive(Debug, Default, Deserialize)]
pub struct Next {
    next: Option<String>,
}

/// Where to go after logging in: a path on this site, never another site.
fn local(next: Option<&str>) -> &str {
    match next {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.contains('\\')
                && !path.chars().any(char::is_control) =>
        {
            path
        }
        _ => "/",
    }
}

fn see_other(location: &str) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response()
}

/// Why the login form is shown again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shown {
    First,
    WrongPassword,
    /// The form posted is not one this browser was shown: from another site, or too old.
    Unpaired,
}

/// The login form, paired with this browser by a fresh token in a cookie and in the form.
fn form_page(web: &Web, next: &str, shown: Shown) -> Response {
    let status = match shown {
        Shown::First => StatusCode::OK,
        Shown::WrongPassword => StatusCode::UNAUTHORIZED,
        Shown::Unpaired => StatusCode::FORBIDDEN,
    };
    let Ok(form_token) = super::auth::token() else {
        return Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "no randomness for a login form",
        )
        .into_response();
    };
    let body = html! {
        @if !web.auth.has_passwords() {
            p.note { "No password logins are configured here." }
        } @else {
            @if shown == Shown::WrongPassword { p.error #login-failed { "Wrong name or password." } }
            @if shown == Shown::Unpaired {
                p.error #login-unpaired { "This login form was not the one shown here (it came from another site, or cookies are off); log in again." }
            }
            form method="post" action="/login" {
                input type="hidden" name="next" value=(next);
                input type="hidden" name="form_token" value=(form_token);
                p { label { "Name " input type="text" name="name" autocomplete="username" required autofocus; } }
                p { label { "Password " input type="password" name="password" autocomplete="current-password" required; } }
                button type="submit" #log-in { "Log in" }
            }
        }
    };
    let mut response = respond(status, layout(web, None, "Log in", body));
    if let Ok(cookie) = web.auth.login_form_cookie(&form_token).parse() {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    response
}

async fn login_form(State(web): State<Arc<Web>>, Query(next): Query<Next>) -> Response {
    form_page(&web, local(next.next.as_deref()), Shown::First)
}

#[derive(Debug, Deserialize)]
pub struct Login {
    name: String,
    password: String,
    next: Option<String>,
    form_token: Option<String>,
}

async fn login(
    State(web): State<Arc<Web>>,
    headers: HeaderMap,
    Form(form): Form<Login>,
) -> Response {
    let next = local(form.next.as_deref()).to_string();
    if !login_form_ok(&headers, form.form_token.as_deref()) {
        return form_page(&web, &next, Shown::Unpaired);
    }
    // argon2 is slow on purpose: off the async workers, a few at a time.
    let _turn = web.auth.check_turn().await;
    let checker = web.clone();
    let token = tokio::task::spawn_blocking(move || checker.auth.login(&form.name, &form.password))
        .await
        .ok()
        .flatten();
    match token {
        Some(token) => {
            let cookie = web.auth.session_cookie(&token);
            (
                StatusCode::SEE_OTHER,
                [(header::LOCATION, next), (header::SET_COOKIE, cookie)],
            )
                .into_response()
        }
        None => form_page(&web, &next, Shown::WrongPassword),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct Token {
    csrf: Option<String>,
}

async fn logout(
    State(web): State<Arc<Web>>,
    caller: Caller,
    headers: HeaderMap,
    Form(token): Form<Token>,
) -> Response {
    let Some(viewer) = caller.0 else {
        return see_other("/");
    };
    if !csrf_ok(&viewer, token.csrf.as_deref()) {
        return forbidden(
            &web,
            "the form's security token is missing or stale: reload the page",
        );
    }
    web.auth.logout(&headers);
    (
        StatusCode::SEE_OTHER,
        [
            (header::LOCATION, "/".to_string()),
            (header::SET_COOKIE, web.auth.cleared_cookie()),
        ],
    )
        .into_response()
}

fn forbidden(web: &Web, why: &str) -> Response {
    respond(
        StatusCode::FORBIDDEN,
        layout(web, None, "Refused", html! { p.error #refused { (why) } }),
    )
}

async fn decide(
    State(web): State<Arc<Web>>,
    caller: Caller,
    Path((id, action)): Path<(i64, String)>,
    Form(token): Form<Token>,
) -> Response {
    if !web.auth.enabled() {
        return forbidden(
            &web,
            "read-only: no login is configured (serve.auth), so nothing can be changed here",
        );
    }
    let Some(viewer) = caller.0 else {
        return login_required(&web, "/reviews");
    };
    if !csrf_ok(&viewer, token.csrf.as_deref()) {
        return forbidden(
            &web,
            "the form's security token is missing or stale: reload the page",
        );
    }
    let accept = match action.as_str() {
        "accept" => true,
        "reject" => false,
        _ => {
            return Problem::new(StatusCode::NOT_FOUND, format!("no action `{action}`"))
                .into_response();
        }
    };
    tracing::info!(user = viewer.name, review = id, action, "steward decision");
    match web.decide_review(id, accept).await {
        Ok(done) => see_other(&format!("/reviews?done={}", encode(&done))),
        Err(error) => {
            let problem = Problem::from(error);
            respond(
                problem.status(),
                layout(
                    &web,
                    Some(&viewer),
                    "Not done",
                    html! { p.error #not-done { (problem.detail) } p { a href="/reviews" { "Back to the review queue" } } },
                ),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::local;

    #[test]
    fn after_a_login_only_paths_of_this_site_are_followed() {
        assert_eq!(local(Some("/reviews?x=1")), "/reviews?x=1");
        for elsewhere in [
            "https://evil.example/",
            "//evil.example/",
            "/\\evil.example",
            "/reviews\r\nSet-Cookie: x=y",
            "reviews",
        ] {
            assert_eq!(local(Some(elsewhere)), "/", "{elsewhere:?}");
        }
        assert_eq!(local(None), "/");
    }
}
