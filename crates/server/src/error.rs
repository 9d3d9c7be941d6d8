//! The one mapping from errors to HTTP: every failure leaves the broker as
//! an RFC 9457 `application/problem+json` document. A 500 says nothing about
//! its cause; the cause goes to the log (without personal data) under the
//! request id that the body carries in `instance` (the id
//! [`crate::request_id::observe`] makes current while it serves the request,
//! see [`crate::instance`]).

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
// Re-exported so that `crate::error::Problem` keeps naming the one problem
// document, which lives with the other wire types.
pub use doorstroom_api::Problem;
use doorstroom_app::{AppError, AuditFailed};
use doorstroom_domain::ParseError;
use doorstroom_store::StoreError;

/// The problem types this API answers with. The `type` URI is
/// `urn:doorstroom:problem:<slug>`.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ApiError {
    /// No or unusable credentials (401).
    #[error("{0}")]
    Unauthenticated(&'static str),
    /// Known caller, action refused, on a resource whose existence is no
    /// secret (403).
    #[error("this action is not allowed for the caller")]
    Forbidden,
    /// Does not exist, or exists but is not the caller's to see: the two look
    /// the same (404).
    #[error("the resource does not exist or is not accessible to the caller")]
    NotFound,
    /// The request body or parameters are not well-formed (400).
    #[error("{detail}")]
    Malformed { detail: String, pointer: Option<String> },
    /// Well-formed, but a field breaks a rule (422).
    #[error("{detail}")]
    Invalid { detail: String, pointer: Option<String> },
    /// The body is larger than allowed (413).
    #[error("the request body exceeds the limit of {limit} bytes")]
    TooLarge { limit: usize },
    /// The body is not JSON (415).
    #[error("the request body must be application/json")]
    UnsupportedMediaType,
    /// The path is known, the method is not one it takes (405, `Allow`
    /// lists the methods it does take).
    #[error("this path does not take this method; it takes {allow}")]
    MethodNotAllowed { allow: String },
    /// The request conflicts with the current state (409).
    #[error("{0}")]
    Conflict(String),
    /// Too many failed attempts (429).
    #[error("too many failed attempts; try again later")]
    TooManyAttempts { retry_after_secs: i64 },
    /// The audit record could not be written, so the access did not happen (503).
    #[error("the access could not be recorded in the audit log, so it was not carried out")]
    AuditUnavailable,
    /// The database cannot be reached (503).
    #[error("the service is temporarily unavailable")]
    Unavailable,
    /// Every slot for this kind of work is busy (password checks at login);
    /// refused at once instead of queueing (503, `Retry-After`).
    #[error("too many requests are being handled at once; try again shortly")]
    Overloaded { retry_after_secs: u64 },
    /// A fault of ours (500). The inner text is logged, never sent.
    #[error("internal error")]
    Internal(String),
    /// The request body did not arrive in time (408): the whole-body
    /// deadline passed or no part of it came within the idle timeout. The
    /// text says which, with the configured number of seconds.
    #[error("{0}")]
    RequestTimeout(String),
}

/// The media type of every problem document (RFC 9457 §3).
pub const PROBLEM_JSON: &str = "application/problem+json";

/// The `Retry-After` of a 503: an outage is worth a retry, a few seconds on.
pub const RETRY_AFTER_SECS: u32 = 5;

impl ApiError {
    pub fn invalid(pointer: &str, detail: impl Into<String>) -> Self {
        ApiError::Invalid {
            detail: detail.into(),
            pointer: Some(pointer.to_owned()),
        }
    }

    /// A field that failed to parse into its domain type.
    pub fn field(pointer: &str, err: ParseError) -> Self {
        ApiError::invalid(pointer, err.to_string())
    }

    /// The audit append failed: refuse the access (fail closed).
    pub fn audit_failed(err: StoreError) -> Self {
        tracing::error!(error = %err, "audit write failed; access refused");
        ApiError::AuditUnavailable
    }

    /// The reason recorded in the audit log for a refused access.
    pub fn audit_reason(&self) -> &'static str {
        self.slug()
    }

    fn slug(&self) -> &'static str {
        match self {
            ApiError::Unauthenticated(_) => "unauthenticated",
            ApiError::Forbidden => "forbidden",
            ApiError::NotFound => "not-found",
            ApiError::Malformed { .. } => "malformed-request",
            ApiError::Invalid { .. } => "validation",
            ApiError::TooLarge { .. } => "too-large",
            ApiError::UnsupportedMediaType => "unsupported-media-type",
            ApiError::MethodNotAllowed { .. } => "method-not-allowed",
            ApiError::Conflict(_) => "conflict",
            ApiError::TooManyAttempts { .. } => "too-many-attempts",
            ApiError::AuditUnavailable => "audit-unavailable",
            ApiError::Unavailable => "unavailable",
            ApiError::Overloaded { .. } => "overloaded",
            ApiError::Internal(_) => "internal",
            ApiError::RequestTimeout(_) => "request-timeout",
        }
    }

    fn title(&self) -> &'static str {
        match self {
            ApiError::Unauthenticated(_) => "Authentication required",
            ApiError::Forbidden => "Forbidden",
            ApiError::NotFound => "Not found",
            ApiError::Malformed { .. } => "Malformed request",
            ApiError::Invalid { .. } => "Validation failed",
            ApiError::TooLarge { .. } => "Request too large",
            ApiError::UnsupportedMediaType => "Unsupported media type",
            ApiError::MethodNotAllowed { .. } => "Method not allowed",
            ApiError::Conflict(_) => "Conflict",
            ApiError::TooManyAttempts { .. } => "Too many attempts",
            ApiError::AuditUnavailable => "Audit log unavailable",
            ApiError::Unavailable => "Service unavailable",
            ApiError::Overloaded { .. } => "Too busy",
            ApiError::Internal(_) => "Internal error",
            ApiError::RequestTimeout(_) => "Request timeout",
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden => StatusCode::FORBIDDEN,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::Malformed { .. } => StatusCode::BAD_REQUEST,
            ApiError::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::TooManyAttempts { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::AuditUnavailable | ApiError::Unavailable | ApiError::Overloaded { .. } => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::RequestTimeout(_) => StatusCode::REQUEST_TIMEOUT,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let ApiError::Internal(cause) = self {
            tracing::error!(cause = %cause, "internal error");
        }
        let status = self.status_code();
        let pointer = match self {
            ApiError::Malformed { pointer, .. } | ApiError::Invalid { pointer, .. } => pointer.clone(),
            _ => None,
        };
        let problem = Problem {
            type_uri: format!("urn:doorstroom:problem:{}", self.slug()),
            title: self.title().to_owned(),
            status: status.as_u16(),
            detail: self.to_string(),
            pointer,
            instance: crate::instance::current_instance(),
        };
        let mut response = HttpResponse::build(status);
        response.content_type(PROBLEM_JSON);
        match self {
            ApiError::Unauthenticated(_) => {
                response.insert_header((
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"doorstroom\""),
                ));
            }
            ApiError::MethodNotAllowed { allow } => {
                response.insert_header((header::ALLOW, allow.clone()));
            }
            ApiError::TooManyAttempts { retry_after_secs } => {
                response.insert_header((header::RETRY_AFTER, retry_after_secs.to_string()));
            }
            ApiError::Overloaded { retry_after_secs } => {
                response.insert_header((header::RETRY_AFTER, retry_after_secs.to_string()));
            }
            ApiError::AuditUnavailable | ApiError::Unavailable => {
                response.insert_header((header::RETRY_AFTER, RETRY_AFTER_SECS.to_string()));
            }
            ApiError::RequestTimeout(_) => {
                // The rest of the body may still be on its way: this
                // connection is done.
                response.force_close();
            }
            _ => {}
        }
        response.json(problem)
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        ApiError::from(AppError::from(err))
    }
}

impl From<diesel::result::Error> for ApiError {
    fn from(err: diesel::result::Error) -> Self {
        ApiError::from(StoreError::from(err))
    }
}

impl From<actix_web::error::BlockingError> for ApiError {
    fn from(_: actix_web::error::BlockingError) -> Self {
        ApiError::Internal("blocking task was cancelled".into())
    }
}

/// The one mapping of a use case's failure to its problem.
impl From<AppError> for ApiError {
    fn from(err: AppError) -> Self {
        match err {
            AppError::Unauthenticated(text) => ApiError::Unauthenticated(text),
            AppError::Forbidden => ApiError::Forbidden,
            AppError::NotFound => ApiError::NotFound,
            AppError::Malformed { detail, pointer } => ApiError::Malformed { detail, pointer },
            AppError::Invalid { detail, pointer } => ApiError::Invalid { detail, pointer },
            AppError::Conflict(text) => ApiError::Conflict(text),
            AppError::TooManyAttempts { retry_after_secs } => ApiError::TooManyAttempts { retry_after_secs },
            AppError::AuditUnavailable => ApiError::AuditUnavailable,
            AppError::Unavailable => ApiError::Unavailable,
            AppError::Overloaded { retry_after_secs } => ApiError::Overloaded { retry_after_secs },
            AppError::Internal(cause) => ApiError::Internal(cause),
        }
    }
}

impl From<AuditFailed> for ApiError {
    fn from(AuditFailed(err): AuditFailed) -> Self {
        ApiError::audit_failed(err)
    }
}
