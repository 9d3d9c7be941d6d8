//! How a use case fails. The HTTP side maps each variant to one problem
//! type, once (`doorstroom-server`'s `error.rs`); the command line prints
//! it. The texts are safe to show the caller: they never hold personal data.

use doorstroom_domain::ParseError;
use doorstroom_store::StoreError;

/// The audit log could not take a side event: the whole access fails.
#[derive(Debug)]
pub struct AuditFailed(pub StoreError);

/// The failures of a use case.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AppError {
    /// No or unusable credentials.
    #[error("{0}")]
    Unauthenticated(&'static str),
    /// Known caller, action refused, on a resource whose existence is no
    /// secret.
    #[error("this action is not allowed for the caller")]
    Forbidden,
    /// Does not exist, or exists but is not the caller's to see: the two
    /// look the same.
    #[error("the resource does not exist or is not accessible to the caller")]
    NotFound,
    /// A value that is not well-formed (a proof range beyond the log).
    #[error("{detail}")]
    Malformed { detail: String, pointer: Option<String> },
    /// Well-formed, but a field breaks a rule.
    #[error("{detail}")]
    Invalid { detail: String, pointer: Option<String> },
    /// The command conflicts with the current state.
    #[error("{0}")]
    Conflict(String),
    /// Too many failed attempts.
    #[error("too many failed attempts; try again later")]
    TooManyAttempts { retry_after_secs: i64 },
    /// The audit record could not be written, so the access did not happen.
    #[error("the access could not be recorded in the audit log, so it was not carried out")]
    AuditUnavailable,
    /// The database cannot be reached.
    #[error("the service is temporarily unavailable")]
    Unavailable,
    /// Every slot for this kind of work is busy.
    #[error("too many requests are being handled at once; try again shortly")]
    Overloaded { retry_after_secs: u64 },
    /// A fault of ours. The text is logged, never shown.
    #[error("internal error")]
    Internal(String),
}

impl AppError {
    /// A field (JSON pointer) that breaks a rule.
    pub fn invalid(pointer: &str, detail: impl Into<String>) -> Self {
        AppError::Invalid {
            detail: detail.into(),
            pointer: Some(pointer.to_owned()),
        }
    }

    /// A field that failed to parse into its domain type.
    pub fn field(pointer: &str, err: ParseError) -> Self {
        AppError::invalid(pointer, err.to_string())
    }

    /// The audit append failed: refuse the access (fail closed).
    pub fn audit_failed(err: StoreError) -> Self {
        tracing::error!(error = %err, "audit write failed; access refused");
        AppError::AuditUnavailable
    }

    /// The problem slug: the reason recorded in the audit log for a refused
    /// access, and the last part of the problem type URI.
    pub fn slug(&self) -> &'static str {
        match self {
            AppError::Unauthenticated(_) => "unauthenticated",
            AppError::Forbidden => "forbidden",
            AppError::NotFound => "not-found",
            AppError::Malformed { .. } => "malformed-request",
            AppError::Invalid { .. } => "validation",
            AppError::Conflict(_) => "conflict",
            AppError::TooManyAttempts { .. } => "too-many-attempts",
            AppError::AuditUnavailable => "audit-unavailable",
            AppError::Unavailable => "unavailable",
            AppError::Overloaded { .. } => "overloaded",
            AppError::Internal(_) => "internal",
        }
    }
}

impl From<StoreError> for AppError {
    fn from(err: StoreError) -> Self {
        // An outage (database unreachable or shutting down, disk full, I/O
        // failure) is no fault of ours or the caller's. Only the errors the
        // store classifies as such; any other database error stays
        // internal, so a bug is not disguised.
        if err.is_outage() {
            tracing::error!(cause = %err, "database unavailable");
            return AppError::Unavailable;
        }
        match err {
            StoreError::Unavailable(cause) => {
                tracing::error!(cause = %cause, "database unavailable");
                AppError::Unavailable
            }
            StoreError::NotFound => AppError::NotFound,
            StoreError::Conflict(what) => AppError::Conflict(format!("{what} already exists")),
            // A size or index beyond the audit log: the caller's mistake.
            StoreError::OutOfRange(what) => AppError::Malformed {
                detail: what.to_owned(),
                pointer: None,
            },
            // A checkpoint that does not match the stored tree: refused, and
            // the refusal says why (it holds no personal data).
            StoreError::Inconsistent(what) => {
                tracing::error!(cause = %what, "audit log inconsistency");
                AppError::Conflict(format!("audit log: {what}"))
            }
            // A stored row that does not parse: fail closed; the log line
            // names the table and column, never the value.
            corrupt @ StoreError::Corrupt { .. } => AppError::Internal(corrupt.to_string()),
            other => AppError::Internal(other.to_string()),
        }
    }
}

impl From<AuditFailed> for AppError {
    fn from(AuditFailed(err): AuditFailed) -> Self {
        AppError::audit_failed(err)
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(err: diesel::result::Error) -> Self {
        AppError::from(StoreError::from(err))
    }
}
