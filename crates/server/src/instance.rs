//! The request being answered, for what is made without the request at
//! hand: a problem document's `instance`. [`crate::request_id::observe`]
//! makes a request's id current while it serves the request; the error
//! mapping reads it. A module of its own, so that the error mapping does not
//! depend on the middleware.

use std::future::Future;

tokio::task_local! {
    /// The id of the request being answered.
    static CURRENT: String;
}

/// The `instance` of a problem answered to request `id` (RFC 9457 §3.1.5):
/// the request, as a URN (RFC 4122 §3).
pub fn problem_instance(id: &str) -> String {
    format!("urn:uuid:{id}")
}

/// The `instance` of a problem made while a request is served: every
/// problem of the broker ([`crate::error::ApiError`]) is made inside one,
/// by handlers, extractors and middleware alike; `None` outside one.
pub fn current_instance() -> Option<String> {
    CURRENT.try_with(|id| problem_instance(id)).ok()
}

/// Runs `serve` with request `id` current.
pub async fn serving<F: Future>(id: String, serve: F) -> F::Output {
    CURRENT.scope(id, serve).await
}
