//! One error type for every handler, mapped to a status code in one place. Internal details are
//! logged, never sent.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use tenure_core::protocol::ErrorBody;

use crate::service::Denial;

/// What a 503 says in `Retry-After`: seconds before the same request may succeed.
pub const RETRY_AFTER_SECS: u16 = 5;

/// An error answer: status, stable code, sentence.
#[derive(Debug)]
pub struct HttpError {
    status: StatusCode,
    code: &'static str,
    message: String,
    /// A signed document that goes with the refusal (a license-moved notice).
    notice: Option<String>,
}

impl HttpError {
    /// The answer's status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The sentence for people.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// A new error answer.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            notice: None,
        }
    }
}

impl From<Denial> for HttpError {
    fn from(refusal: Denial) -> Self {
        match refusal {
            Denial::Invalid(m) => Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", m),
            Denial::NotFound(m) => Self::new(StatusCode::NOT_FOUND, "not_found", m),
            Denial::Unauthorized(m) => Self::new(StatusCode::UNAUTHORIZED, "unauthorized", m),
            Denial::Forbidden { code, message } => Self::new(StatusCode::FORBIDDEN, code, message),
            Denial::Conflict { code, message } => Self::new(StatusCode::CONFLICT, code, message),
            Denial::Moved { message, notice } => Self {
                notice: Some(notice),
                ..Self::new(StatusCode::CONFLICT, "moved", message)
            },
            Denial::Unavailable { code, message } => {
                Self::new(StatusCode::SERVICE_UNAVAILABLE, code, message)
            }
            Denial::Store(e) => {
                let failure = e.failure();
                crate::outage::current().failed(failure, &e.to_string());
                if failure == tenure_storage::Failure::Full {
                    Self::new(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "storage_full",
                        "the license server cannot write: its disk is full. Try again later",
                    )
                } else {
                    Self::new(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "storage_unavailable",
                        "the license server cannot reach its database right now: try again in a minute",
                    )
                }
            }
            Denial::TooMany(m) => Self::new(StatusCode::TOO_MANY_REQUESTS, "too_many", m),
            Denial::Internal(e) => {
                tracing::error!(error = %e, "internal failure");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "the license server failed: contact the vendor",
                )
            }
            Denial::Sign(e) => {
                tracing::error!(error = %e, "signing failure");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "the license server could not sign the answer: contact the vendor",
                )
            }
        }
    }
}

impl From<JsonRejection> for HttpError {
    fn from(rejection: JsonRejection) -> Self {
        let status = match rejection {
            JsonRejection::MissingJsonContentType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            JsonRejection::BytesRejection(_) => StatusCode::PAYLOAD_TOO_LARGE,
            _ => StatusCode::BAD_REQUEST,
        };
        let code = if status == StatusCode::PAYLOAD_TOO_LARGE {
            "too_large"
        } else {
            "bad_json"
        };
        Self::new(
            status,
            code,
            format!("the request body was refused: {}", rejection.body_text()),
        )
    }
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        crate::metrics::refusal(self.code);
        let body = ErrorBody {
            error: self.code.to_owned(),
            message: self.message,
            notice: self.notice,
        };
        let mut response = (self.status, Json(body)).into_response();
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, RETRY_AFTER_SECS.into());
        }
        response
    }
}
