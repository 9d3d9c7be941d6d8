//! The RFC 9457 problem document: the body of every failure the broker
//! answers (`application/problem+json`). The broker builds it from its one
//! error mapping; the client reads it back.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// An RFC 9457 problem document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Problem {
    /// URI of the problem type, `urn:doorstroom:problem:<slug>`.
    #[serde(rename = "type")]
    pub type_uri: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// JSON pointer (RFC 6901) to the offending field, when there is one.
    /// A member name the caller sent with a control character in it is not
    /// echoed: the pointer then names the object that holds it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pointer: Option<String>,
    /// The request this problem answers: `urn:uuid:<request id>`, the id
    /// the answer's `X-Request-Id` header carries and the broker's log
    /// lines and audit events of the request name. Quote it when reporting
    /// a problem (a 500 says nothing else). Two answers that are otherwise
    /// the same (a resource that does not exist and one that is not the
    /// caller's) differ in this member only.
    // Required in the schema: the broker makes every problem while it serves
    // the request; `None` only for one made outside a request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(
        required = true,
        nullable = false,
        example = "urn:uuid:3f1c2a9e-8b7d-4e21-9c55-0a6f4d2b7e10"
    )]
    pub instance: Option<String>,
}
