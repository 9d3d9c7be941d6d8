//! The audit log as a verifiable log: its entries and the RFC 9162
//! inclusion and consistency proofs, and the pruned prefix a verifier
//! starts from after events were pruned. For the broker's privacy officer
//! (`read_audit_log` on the broker); every reading is audited. Sizes and
//! indexes outside the log are the caller's mistake
//! ([`AppError::Malformed`]). Signed checkpoints: [`crate::checkpoints`].

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use doorstroom_api::tlog::{
    ConsistencyProof, ConsistencyQuery, Entries, EntriesQuery, Entry, InclusionProof, InclusionQuery, PrunedPrefix,
};
use doorstroom_domain::{Action, Purpose, Resource, ResourceKind, ResourceRef};
use doorstroom_store::merkle::{self, Digest};

use crate::{Access, App, AppError, Caller, perform_in};

/// A hash as the wire carries it.
fn b64(digest: &Digest) -> String {
    STANDARD.encode(digest)
}

/// Reading the part of the verifiable log that `kind` names.
fn access(kind: ResourceKind) -> Access {
    Access::new(
        Action::ReadAuditLog,
        Resource::Broker,
        ResourceRef::new(kind, None),
        Purpose::Supervision,
    )
}

/// The entries of leaves `start..end` (at most 1000), exactly as hashed.
/// Who may: the broker's privacy officer. Records `read_audit_log` on
/// `audit_entries`.
pub fn audit_entries(app: &App, caller: Caller<'_>, range: EntriesQuery) -> Result<Entries, AppError> {
    let EntriesQuery { start, end } = range;
    perform_in(
        &app.store,
        app.clock.now(),
        caller,
        access(ResourceKind::AuditEntries),
        |ctx| {
            let entries = merkle::entries(ctx.conn, start, end)?;
            Ok(Entries {
                entries: entries.into_iter().map(|(seq, entry)| Entry { seq, entry }).collect(),
            })
        },
    )
}

/// The inclusion proof of leaf `index` in the tree of `size` leaves, with
/// the leaf's hash and the tree's root. Who may: the broker's privacy
/// officer. Records `read_audit_log` on `audit_inclusion_proof`.
pub fn inclusion_proof(app: &App, caller: Caller<'_>, leaf: InclusionQuery) -> Result<InclusionProof, AppError> {
    let InclusionQuery { index, size } = leaf;
    let kind = ResourceKind::AuditInclusionProof;
    perform_in(&app.store, app.clock.now(), caller, access(kind), |ctx| {
        let proof = merkle::inclusion_proof(ctx.conn, index, size)?;
        let root = merkle::tree_hash(ctx.conn, size)?;
        let (_, entry) = merkle::entries(ctx.conn, index, index.saturating_add(1))?
            .into_iter()
            .next()
            .ok_or_else(|| AppError::Internal(format!("audit log: no entry at index {index}")))?;
        Ok(InclusionProof {
            index,
            size,
            leaf_hash: b64(&merkle::leaf_hash(entry.as_bytes())),
            proof: proof.iter().map(b64).collect(),
            root: b64(&root),
        })
    })
}

/// The consistency proof between the trees of `old` and `new` leaves. Who
/// may: the broker's privacy officer. Records `read_audit_log` on
/// `audit_consistency_proof`.
pub fn consistency_proof(app: &App, caller: Caller<'_>, sizes: ConsistencyQuery) -> Result<ConsistencyProof, AppError> {
    let ConsistencyQuery { old, new } = sizes;
    let kind = ResourceKind::AuditConsistencyProof;
    perform_in(&app.store, app.clock.now(), caller, access(kind), |ctx| {
        let proof = merkle::consistency_proof(ctx.conn, old, new)?;
        Ok(ConsistencyProof {
            old,
            new,
            proof: proof.iter().map(b64).collect(),
        })
    })
}

/// The prune boundary and the hashes of the perfect subtrees of the pruned
/// prefix, from which a verifier recomputes the tree with the remaining
/// entries. Who may: the broker's privacy officer. Records
/// `read_audit_log` on `audit_pruned_prefix`.
pub fn pruned_prefix(app: &App, caller: Caller<'_>) -> Result<PrunedPrefix, AppError> {
    let kind = ResourceKind::AuditPrunedPrefix;
    perform_in(&app.store, app.clock.now(), caller, access(kind), |ctx| {
        let prefix = merkle::pruned_prefix(ctx.conn)?;
        Ok(PrunedPrefix {
            pruned_below: prefix.pruned_below,
            subtrees: prefix.subtrees.iter().map(b64).collect(),
        })
    })
}
