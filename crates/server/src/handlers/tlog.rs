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
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use doorstroom_domain::{Action, Purpose, Resource, ResourceRef};
use doorstroom_store::merkle::{self, Digest};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::access::{Access, perform};
use crate::auth::Caller;
use crate::checkpoints::{self, RESOURCE_KIND};
use crate::error::{ApiError, Problem};
use crate::extract::Query;
use crate::state::AppState;
use doorstroom_domain::ResourceKind;

const NOTE_TYPE: &str = "text/plain; charset=utf-8";

fn b64(digest: &Digest) -> String {
    STANDARD.encode(digest)
}

fn access(kind: ResourceKind) -> Access {
    Access::new(
        Action::ReadAuditLog,
        Resource::Broker,
        ResourceRef::new(kind, None),
        Purpose::Supervision,
    )
}

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
    let store = state.store.clone();
    let latest = crate::request_id::block(move || store.read(merkle::latest_checkpoint)).await??;
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
    let checkpoint = perform(&state, &caller, access(RESOURCE_KIND), move |conn, now| {
        Ok(checkpoints::sign_checkpoint(conn, now, &signing.checkpoints)?)
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

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct EntriesQuery {
    /// The first leaf index (0 is the event with seq 1).
    pub start: i64,
    /// The leaf index after the last one (at most the tree size). At most
    /// 1000 entries are answered: page on from the last seq.
    pub end: i64,
}

/// Entries of the log, as hashed: leaf `seq - 1` is `entry`'s UTF-8 bytes.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Entries {
    pub entries: Vec<Entry>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Entry {
    pub seq: i64,
    /// The event's canonical JSON, exactly the bytes of its leaf.
    pub entry: String,
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
    let EntriesQuery { start, end } = query.0;
    let entries = perform(&state, &caller, access(ResourceKind::AuditEntries), move |conn, _| {
        Ok(merkle::entries(conn, start, end)?
            .into_iter()
            .map(|(seq, entry)| Entry { seq, entry })
            .collect())
    })
    .await?;
    Ok(HttpResponse::Ok().json(Entries { entries }))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct InclusionQuery {
    /// The leaf index (`seq - 1`).
    pub index: i64,
    /// The tree size (`index < size <= ` the current size).
    pub size: i64,
}

/// The inclusion proof of one leaf in a tree (hashes in base64).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct InclusionProof {
    pub index: i64,
    pub size: i64,
    /// SHA-256(0x00 ‖ entry) of the entry as stored.
    pub leaf_hash: String,
    /// The audit path, leaf to root (RFC 9162 §2.1.3).
    pub proof: Vec<String>,
    /// The tree hash at `size`.
    pub root: String,
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
    let InclusionQuery { index, size } = query.0;
    let proof = perform(
        &state,
        &caller,
        access(ResourceKind::AuditInclusionProof),
        move |conn, _| {
            let proof = merkle::inclusion_proof(conn, index, size)?;
            let root = merkle::tree_hash(conn, size)?;
            let entry = merkle::entries(conn, index, index.saturating_add(1))?
                .into_iter()
                .next()
                .ok_or_else(|| ApiError::Internal(format!("audit log: no entry at index {index}")))?;
            Ok(InclusionProof {
                index,
                size,
                leaf_hash: b64(&merkle::leaf_hash(entry.1.as_bytes())),
                proof: proof.iter().map(b64).collect(),
                root: b64(&root),
            })
        },
    )
    .await?;
    Ok(HttpResponse::Ok().json(proof))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyQuery {
    /// The older tree size (at least 1).
    pub old: i64,
    /// The newer tree size (`old <= new <= ` the current size).
    pub new: i64,
}

/// The consistency proof between two tree sizes (hashes in base64).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ConsistencyProof {
    pub old: i64,
    pub new: i64,
    /// RFC 9162 §2.1.4; empty when `old == new`.
    pub proof: Vec<String>,
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
    let ConsistencyQuery { old, new } = query.0;
    let proof = perform(
        &state,
        &caller,
        access(ResourceKind::AuditConsistencyProof),
        move |conn, _| {
            let proof = merkle::consistency_proof(conn, old, new)?;
            Ok(ConsistencyProof {
                old,
                new,
                proof: proof.iter().map(b64).collect(),
            })
        },
    )
    .await?;
    Ok(HttpResponse::Ok().json(proof))
}

/// The pruned prefix of the log: events `1..pruned_below` were deleted
/// under the retention policy.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PrunedPrefix {
    /// The lowest seq whose entry is still served (1 if nothing was pruned).
    pub pruned_below: i64,
    /// The hashes (base64) of the perfect subtrees that make up leaves
    /// `0..pruned_below - 1`, largest (leftmost) first: the start of a
    /// recomputation from entry `pruned_below` on (empty if nothing was
    /// pruned).
    pub subtrees: Vec<String>,
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
    let prefix = perform(
        &state,
        &caller,
        access(ResourceKind::AuditPrunedPrefix),
        move |conn, _| {
            let prefix = merkle::pruned_prefix(conn)?;
            Ok(PrunedPrefix {
                pruned_below: prefix.pruned_below,
                subtrees: prefix.subtrees.iter().map(b64).collect(),
            })
        },
    )
    .await?;
    Ok(HttpResponse::Ok().json(prefix))
}
