//! The audit log as a verifiable log on the wire: entries as hashed, and
//! inclusion and consistency proofs and the pruned prefix with their hashes
//! in base64 (RFC 9162 hashing).

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

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
