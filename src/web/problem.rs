//! Errors of the API as problem details (RFC 9457): a JSON body with `type`, `title`, `status`
//! and `detail`, served as `application/problem+json`, so a client can tell an unknown ID (404)
//! from a bad query (400) without parsing prose.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::app::AppError;
use crate::reconcile::steward::StewardError;

/// A problem details object (RFC 9457).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Problem {
    /// Names the kind of problem; `about:blank` means the status says it all.
    #[serde(rename = "type")]
    pub kind: String,
    /// The status's short reason (`Not Found`).
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong with this request, for a person.
    pub detail: String,
}

impl Problem {
    /// A problem with `status` and a detail for a person.
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Problem {
        Problem {
            kind: "about:blank".into(),
            title: status.canonical_reason().unwrap_or("Error").into(),
            status: status.as_u16(),
            detail: detail.into(),
        }
    }

    /// The status code.
    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let body = serde_json::to_string(&self).unwrap_or_default();
        (
            self.status(),
            [(header::CONTENT_TYPE, "application/problem+json")],
            body,
        )
            .into_response()
    }
}

/// The status an application error answers with.
pub fn status_of(error: &AppError) -> StatusCode {
    match error {
        AppError::NotFound(_) | AppError::Steward(StewardError::NoReview(_)) => {
            StatusCode::NOT_FOUND
        }
        AppError::Steward(StewardError::NoGolden(..)) => StatusCode::NOT_FOUND,
        AppError::Usage(_) => StatusCode::BAD_REQUEST,
        AppError::Steward(StewardError::Decided(..)) => StatusCode::CONFLICT,
        error if error.is_locked() => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl From<AppError> for Problem {
    fn from(error: AppError) -> Problem {
        let status = status_of(&error);
        if status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::warn!(%error, "request failed");
        }
        Problem::new(
            status,
            crate::redact::scrub(&error.to_string()).into_owned(),
        )
    }
}

impl From<crate::store::StoreError> for Problem {
    fn from(error: crate::store::StoreError) -> Problem {
        AppError::from(error).into()
    }
}
