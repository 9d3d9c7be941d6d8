//! The audit log as a verifiable log: its signed checkpoints, the key they
//! verify with, its entries, and inclusion and consistency proofs
//! (RFC 9162 hashing; see `doorstroom_store::merkle`).
//!
//! The checkpoint and its verifier key are public: a checkpoint holds a tree
//! size and a hash, no personal data, and the more parties keep the
//! checkpoints they saw, the harder the log is to rewrite. Entries and
//! proofs are for the broker's privacy officer (`read_audit_log` on the
//! broker), and reading them is audited like any access. Sizes and indexes
//! outside the log are answered with 400.
//!
//! After audit events were pruned under the retention policy, entries below
//! the prune boundary are answered with a 400 problem saying so (never with
//! fewer entries, which would look like a gap), and so is an inclusion proof
//! of a pruned leaf (it needs the entry); every tree hash, checkpoint and
//! consistency proof stays. [`pruned_prefix`] answers the boundary and the
//! hashes of the perfect subtrees of the pruned prefix, from which a
//! verifier recomputes the tree with the remaining entries: the signed
//! checkpoint's root pins those hashes, so they need no trust of their own.

use actix_web::{HttpResponse, get, post, web};
use doorstroom_api::tlog::{
    ConsistencyProof, ConsistencyQuery, Entries, EntriesQuery, InclusionProof, InclusionQuery, PrunedPrefix,
};
use doorstroom_app::{checkpoints, tlog};

use crate::access::run;
use crate::auth::Caller;
use crate::error::{ApiError, Problem};
use crate::extract::Query;
use crate::state::AppState;

const NOTE_TYPE: &str = "text/plain; charset=utf-8";

/// The latest signed checkpoint: a C2SP tlog-checkpoint (origin, tree size,
/// base64 root hash) in a C2SP signed note, signed by the broker's key.
#[utoipa::path(
    tag = "audit",
    responses(
        (status = 200, description = "The signed note", content_type = "text/plain; charset=utf-8", body = String),
        (status = 404, description = "No checkpoint yet", body = Problem, content_type = "application/problem+json")
    )
)]
#[get("/v1/audit/checkpoint")]
pub async fn latest_checkpoint(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let app = state.clone();
    let latest = crate::request_id::block(move || checkpoints::latest_checkpoint(&app)).await??;
    let checkpoint = latest.ok_or(ApiError::NotFound)?;
    Ok(HttpResponse::Ok().content_type(NOTE_TYPE).body(checkpoint.signed_note))
}

/// Signs a checkpoint of the log as it is now (the broker's privacy
/// officer). Refused with 409 if the log is not consistent with the latest
/// checkpoint; the refusal is audited.
#[utoipa::path(
    tag = "audit",
    responses(
        (status = 200, description = "The new signed note", content_type = "text/plain; charset=utf-8", body = String),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The log is not consistent with the latest checkpoint", body = Problem, content_type = "application/problem+json")
    ),
    security(("bearer" = []))
)]
#[post("/v1/audit/checkpoint")]
pub async fn sign_checkpoint(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, ApiError> {
    let signing = state.clone();
    let checkpoint = run(&state, &caller, move |app, caller| {
        checkpoints::sign_checkpoint(app, caller, &signing.checkpoints)
    })
    .await?;
    Ok(HttpResponse::Ok().content_type(NOTE_TYPE).body(checkpoint.signed_note))
}

/// The signed-note verifier key of the checkpoints:
/// `<origin>+<key id, 8 hex digits>+<base64(0x01 ‖ Ed25519 public key)>`.
#[utoipa::path(
    tag = "audit",
    responses((status = 200, description = "The verifier key", content_type = "text/plain; charset=utf-8", body = String))
)]
#[get("/v1/audit/checkpoint/key")]
pub async fn verifier_key(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(NOTE_TYPE)
        .body(state.checkpoints.verifier_key().to_owned())
}

/// The entries of leaves `start..end` (at most 1000).
#[utoipa::path(
    tag = "audit",
    params(EntriesQuery),
    responses(
        (status = 200, body = Entries),
        (status = 400, description = "Out of range", body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json")
    ),
    security(("bearer" = []))
)]
#[get("/v1/audit/entries")]
pub async fn entries(
    state: web::Data<AppState>,
    caller: Caller,
    query: Query<EntriesQuery>,
) -> Result<HttpResponse, ApiError> {
    let entries = run(&state, &caller, move |app, caller| {
        tlog::audit_entries(app, caller, query.0)
    })
    .await?;
    Ok(HttpResponse::Ok().json(entries))
}

/// The RFC 9162 inclusion proof of leaf `index` in the tree of `size` leaves.
#[utoipa::path(
    tag = "audit",
    params(InclusionQuery),
    responses(
        (status = 200, body = InclusionProof),
        (status = 400, description = "Out of range", body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json")
    ),
    security(("bearer" = []))
)]
#[get("/v1/audit/proofs/inclusion")]
pub async fn inclusion_proof(
    state: web::Data<AppState>,
    caller: Caller,
    query: Query<InclusionQuery>,
) -> Result<HttpResponse, ApiError> {
    let proof = run(&state, &caller, move |app, caller| {
        tlog::inclusion_proof(app, caller, query.0)
    })
    .await?;
    Ok(HttpResponse::Ok().json(proof))
}

/// The RFC 9162 consistency proof between the trees of `old` and `new` leaves.
#[utoipa::path(
    tag = "audit",
    params(ConsistencyQuery),
    responses(
        (status = 200, body = ConsistencyProof),
        (status = 400, description = "Out of range", body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json")
    ),
    security(("bearer" = []))
)]
#[get("/v1/audit/proofs/consistency")]
pub async fn consistency_proof(
    state: web::Data<AppState>,
    caller: Caller,
    query: Query<ConsistencyQuery>,
) -> Result<HttpResponse, ApiError> {
    let proof = run(&state, &caller, move |app, caller| {
        tlog::consistency_proof(app, caller, query.0)
    })
    .await?;
    Ok(HttpResponse::Ok().json(proof))
}

/// The prune boundary and the subtree hashes of the pruned prefix.
#[utoipa::path(
    tag = "audit",
    responses(
        (status = 200, body = PrunedPrefix),
        (status = 403, body = Problem, content_type = "application/problem+json")
    ),
    security(("bearer" = []))
)]
#[get("/v1/audit/pruned")]
pub async fn pruned_prefix(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, ApiError> {
    let prefix = run(&state, &caller, tlog::pruned_prefix).await?;
    Ok(HttpResponse::Ok().json(prefix))
}
