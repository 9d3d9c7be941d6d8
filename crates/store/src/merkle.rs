//! The audit log as a Merkle tree: RFC 9162 hashing, stored hashes in the
//! database, tree hashes, inclusion and consistency proofs, checkpoints and
//! a verifier that recomputes everything from the stored entries.
//!
//! # The tree
//! Leaf `i` is audit event `seq = i + 1`; its bytes are the UTF-8 of the
//! stored `entry` (the event's [`AuditEvent::canonical_json`]). Leaf hash =
//! SHA-256(0x00 ‖ entry), node hash = SHA-256(0x01 ‖ left ‖ right), the tree
//! shape of RFC 9162 §2.1. The hashing, the storage layout and the proofs are
//! those of the [`tlog_tiles`] crate (a port of Go's
//! `golang.org/x/mod/sumdb/tlog`): this module only feeds it.
//!
//! # Storage
//! `audit_hashes` holds the tree's *stored hashes* in tlog's stored hash
//! index order ([`tlog_tiles::stored_hash_index`]): appending leaf `n` writes
//! its leaf hash and the hashes of the perfect subtrees it completes, on
//! average two rows, at `stored_hash_index(0, n)` onwards. `crate::audit::append`
//! writes them in the same transaction as the event (fail closed for both),
//! reading at most log₂ n earlier hashes through a [`HashReader`] over the
//! table. Tree hashes and proofs read at most 2·log₂ n stored hashes.
//!
//! # Verification
//! [`verify_log`] trusts nothing stored but the entries' bytes (and, below
//! the prune boundary, the leaf hashes, which the checkpoints pin; see
//! *Pruning*): it checks that the sequence numbers are exactly 1..n, that each entry is the canonical
//! JSON of its own row's columns, recomputes every stored hash from the
//! entries and compares it with the table (and that there are no extra
//! rows), and checks every recorded checkpoint's root (and its note) against
//! the recomputed tree at its size. Its error names the first bad place.
//! [`verify_entries`], [`TreeBuilder`], [`check_inclusion`] and
//! [`check_consistency`] need no database, for verifiers outside the broker.
//!
//! # Pruning
//! After its retention period an audit event is deleted
//! ([`crate::retention::prune_audit`]), but only as part of a prefix of the
//! log that lies within the latest checkpoint, and its stored hashes stay:
//! the tree, every tree hash, every checkpoint and every inclusion and
//! consistency proof stay computable. `audit_prunes` records the boundary
//! ([`pruned_below`]): events `1..boundary` are gone on purpose. Below it
//! [`verify_log`] replays the tree from the stored leaf hashes (each interior
//! stored hash must be the node hash of its children, and the checkpoints at
//! and after the boundary pin the roots those hashes add up to); from the
//! boundary on it recomputes everything from the entries as before, so a gap
//! there is still tampering. [`entries`] refuses pruned indexes;
//! [`pruned_prefix`] gives a verifier outside the broker the hashes of the
//! perfect subtrees that make up the pruned prefix, to start its
//! recomputation from ([`TreeBuilder::from_prefix`]): the signed checkpoint's
//! root pins them.
//!
//! What the log alone cannot show: a truncated log whose lost tail was
//! re-appended with new hashes is a valid tree. That is what checkpoints are
//! for: `verify_log` catches it against any checkpoint recorded past the
//! truncation point, and an outside verifier against the last signed
//! checkpoint it saw.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::io::Cursor;
use std::iter::Peekable;

use chrono::{DateTime, Utc};
use diesel::dsl::{count_star, min};
use diesel::prelude::*;
use doorstroom_domain::AuditEvent;
use tlog_tiles::{Hash, HashReader};

use crate::audit_rows::{Row, lock_tail};
use crate::schema::{audit_checkpoints, audit_events, audit_hashes, audit_prunes};
use crate::{DbConn, StoreError, from_ms, guarded, to_ms};

/// A SHA-256 hash: a leaf, node or tree hash.
pub type Digest = [u8; 32];

/// The tree hash of the empty log (SHA-256 of nothing).
pub const EMPTY_ROOT: Digest = tlog_tiles::EMPTY_HASH.0;

/// The most entries one [`entries`] call returns.
pub const MAX_ENTRIES: i64 = 1000;

/// Events (and their stored hashes) per query in [`verify_log`] and
/// [`backfill`].
const PAGE: i64 = 1000;

/// The RFC 9162 leaf hash of an entry: SHA-256(0x00 ‖ entry).
pub fn leaf_hash(entry: &[u8]) -> Digest {
    tlog_tiles::record_hash(entry).0
}

/// The RFC 9162 interior node hash: SHA-256(0x01 ‖ left ‖ right).
pub fn node_hash(left: &Digest, right: &Digest) -> Digest {
    tlog_tiles::node_hash(Hash(*left), Hash(*right)).0
}

// ---- the log in the database ----

/// The number of leaves: the highest seq (after a prune, more than the
/// number of events stored).
///
/// Sequence numbers are gapless from 1 (the append lock guarantees it and
/// `verify_log` checks it; a prune removes only a prefix and never the
/// newest event), so the highest one is the size: an index lookup, where
/// counting the rows would scan the table.
pub fn tree_size(conn: &mut DbConn) -> Result<i64, StoreError> {
    let highest: Option<i64> = audit_events::table
        .select(diesel::dsl::max(audit_events::seq))
        .first(conn)?;
    Ok(highest.unwrap_or(0))
}

/// The tree hash of the first `size` leaves (`0 <= size <= tree_size`).
pub fn tree_hash(conn: &mut DbConn, size: i64) -> Result<Digest, StoreError> {
    let t = size_within_log(conn, size, SIZE)?;
    let reader = DbHashes::new(conn);
    let root = tlog_tiles::tree_hash(t, &reader);
    Ok(reader.finish(root)?.0)
}

/// The RFC 9162 inclusion proof (audit path) of leaf `index` (event
/// `index + 1`) in the tree of `size` leaves: `0 <= index < size <= tree_size`.
pub fn inclusion_proof(conn: &mut DbConn, index: i64, size: i64) -> Result<Vec<Digest>, StoreError> {
    let n = non_negative(index, "index is negative")?;
    let t = size_within_log(conn, size, SIZE)?;
    if n >= t {
        return Err(StoreError::OutOfRange("index must be less than size"));
    }
    let reader = DbHashes::new(conn);
    let proof = tlog_tiles::prove_record(t, n, &reader);
    Ok(digests(reader.finish(proof)?))
}

/// The RFC 9162 consistency proof between the trees of `old` and `new`
/// leaves: `1 <= old <= new <= tree_size` (empty if `old == new`).
pub fn consistency_proof(conn: &mut DbConn, old: i64, new: i64) -> Result<Vec<Digest>, StoreError> {
    let n = non_negative(old, "old size is negative")?;
    let t = size_within_log(conn, new, NEW_SIZE)?;
    if n == 0 {
        return Err(StoreError::OutOfRange("old size must be at least 1"));
    }
    if n > t {
        return Err(StoreError::OutOfRange("old size is larger than new size"));
    }
    let reader = DbHashes::new(conn);
    let proof = tlog_tiles::prove_tree(t, n, &reader);
    Ok(digests(reader.finish(proof)?))
}

/// The message for entries below the prune boundary.
pub const PRUNED: &str = "pruned: the events below the prune boundary were deleted under the retention policy \
                          (their hashes remain; the boundary is in GET /v1/audit/pruned)";

/// The entries of leaves `start..end` (leaf indexes, end exclusive;
/// `0 <= start <= end <= tree_size`) as `(seq, entry)` with `seq = index + 1`,
/// at most [`MAX_ENTRIES`] of them: page on from the last seq. A non-empty
/// range that starts below the prune boundary is refused ([`PRUNED`]):
/// silently answering fewer entries would look like a gap.
pub fn entries(conn: &mut DbConn, start: i64, end: i64) -> Result<Vec<(i64, String)>, StoreError> {
    non_negative(start, "start is negative")?;
    size_within_log(conn, end, END)?;
    if end < start {
        return Err(StoreError::OutOfRange("end is before start"));
    }
    if start < end && start.saturating_add(1) < pruned_below(conn)? {
        return Err(StoreError::OutOfRange(PRUNED));
    }
    let last = end.min(start.saturating_add(MAX_ENTRIES));
    Ok(audit_events::table
        .select((audit_events::seq, audit_events::entry))
        .filter(audit_events::seq.gt(start).and(audit_events::seq.le(last)))
        .order(audit_events::seq.asc())
        .load(conn)?)
}

/// The prune boundary: the lowest seq that was not pruned (1 if nothing
/// was). Events below it were deleted under the retention policy; their
/// stored hashes remain.
pub fn pruned_below(conn: &mut DbConn) -> Result<i64, StoreError> {
    let highest: Option<i64> = audit_prunes::table
        .select(diesel::dsl::max(audit_prunes::pruned_below))
        .first(conn)?;
    Ok(highest.unwrap_or(1))
}

/// The pruned prefix of the log as a verifier outside the broker needs it:
/// the boundary and the hashes of the perfect subtrees that make up leaves
/// `0..pruned_below - 1`, largest (leftmost) first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrunedPrefix {
    pub pruned_below: i64,
    pub subtrees: Vec<Digest>,
}

/// The [`PrunedPrefix`] of the log (no subtrees if nothing was pruned).
pub fn pruned_prefix(conn: &mut DbConn) -> Result<PrunedPrefix, StoreError> {
    let pruned_below = pruned_below(conn)?;
    let leaves = non_negative(pruned_below.saturating_sub(1), "prune boundary")?;
    let indexes = tlog_tiles::sub_tree_index(0, leaves, Vec::new());
    let reader = DbHashes::new(conn);
    let subtrees = reader.read(&indexes)?;
    Ok(PrunedPrefix {
        pruned_below,
        subtrees: digests(subtrees),
    })
}

/// Writes the stored hashes of consecutive leaves in the caller's
/// transaction (with the audit tail locked): `entries[i]` is the entry of
/// event `first_seq + i` (leaf `first_seq + i - 1`). One leaf on SQLite's
/// append, a round's worth on PostgreSQL (`crate::sequencer`). The hashes a
/// leaf builds on come from this call's earlier leaves, or else from the
/// table (one read per leaf that needs any); all new hashes go in with one
/// `INSERT` per few thousand.
pub(crate) fn append_leaves(conn: &mut DbConn, first_seq: i64, entries: &[&[u8]]) -> Result<(), StoreError> {
    let first = first_seq
        .checked_sub(1)
        .and_then(|n| u64::try_from(n).ok())
        .ok_or_else(|| StoreError::corrupt("audit_events", "seq", "out of range"))?;
    let mut rows: Vec<(u64, Hash)> = Vec::new();
    {
        let reader = RoundHashes {
            db: DbHashes::new(conn),
            made: RefCell::new(HashMap::new()),
        };
        for (n, entry) in (first..).zip(entries) {
            let hashes = match tlog_tiles::stored_hashes(n, entry, &reader) {
                Ok(hashes) => hashes,
                Err(e) => return reader.db.finish(Err(e)),
            };
            let mut made = reader.made.borrow_mut();
            for (index, hash) in indexed(n, hashes) {
                made.insert(index, hash);
                rows.push((index, hash));
            }
        }
    }
    insert_hashes(conn, &rows)
}

/// The stored hashes as a round of leaves sees them: those it made itself,
/// then the table's.
struct RoundHashes<'a> {
    db: DbHashes<'a>,
    made: RefCell<HashMap<u64, Hash>>,
}

impl HashReader for RoundHashes<'_> {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, tlog_tiles::Error> {
        let made = self.made.borrow();
        let missing: Vec<u64> = indexes.iter().copied().filter(|i| !made.contains_key(i)).collect();
        let mut read = self.db.read_hashes(&missing)?.into_iter();
        // `read` has the others, in this order.
        indexes
            .iter()
            .map(|i| {
                made.get(i)
                    .copied()
                    .or_else(|| read.next())
                    .ok_or(tlog_tiles::Error::IndexesNotInTree)
            })
            .collect()
    }
}

/// The stored hashes that leaf `n` completes (as `tlog_tiles` gives them),
/// each with its stored-hash index.
fn indexed(n: u64, hashes: Vec<Hash>) -> impl Iterator<Item = (u64, Hash)> {
    let first = tlog_tiles::stored_hash_index(0, n);
    (0u64..)
        .zip(hashes)
        .map(move |(offset, hash)| (first.saturating_add(offset), hash))
}

/// Inserts stored hashes by index, a few thousand per `INSERT` (a leaf's
/// are one to about log2(n)).
fn insert_hashes(conn: &mut DbConn, hashes: &[(u64, Hash)]) -> Result<(), StoreError> {
    for chunk in hashes.chunks(5000) {
        let rows = chunk
            .iter()
            .map(|(index, hash)| {
                Ok((
                    audit_hashes::idx.eq(stored_index(*index)?),
                    audit_hashes::hash.eq(hash.0.as_slice()),
                ))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        crate::insert_all!(conn, audit_hashes::table, &rows)?;
    }
    Ok(())
}

/// Gives audit events written before the Merkle log existed their stored
/// hashes, once: only while `audit_hashes` is empty and events exist (later,
/// missing hashes are damage for [`verify_log`] to report, never something
/// to recompute). Returns the number of events hashed. Run by
/// [`crate::Store::open`].
pub fn backfill(conn: &mut DbConn) -> Result<i64, StoreError> {
    let hashed: i64 = audit_hashes::table.select(count_star()).first(conn)?;
    if hashed > 0 {
        return Ok(0);
    }
    lock_tail(conn)?;
    // Look again under the lock: another node may have appended (with its
    // hashes) between the count and the lock, and under READ COMMITTED we
    // now see what it committed.
    let hashed: i64 = audit_hashes::table.select(count_star()).first(conn)?;
    if hashed > 0 {
        return Ok(0);
    }
    let mut tree = TreeBuilder::new();
    loop {
        let page: Vec<(i64, String)> = audit_events::table
            .select((audit_events::seq, audit_events::entry))
            .filter(audit_events::seq.gt(tree.size()))
            .order(audit_events::seq.asc())
            .limit(PAGE)
            .load(conn)?;
        if page.is_empty() {
            break;
        }
        for (seq, entry) in page {
            if Some(seq) != tree.size().checked_add(1) {
                return Err(StoreError::corrupt("audit_events", "seq", "not gapless"));
            }
            let n = tree.leaves();
            let hashes = tree.push_hashes(entry.as_bytes())?;
            insert_hashes(conn, &indexed(n, hashes).collect::<Vec<_>>())?;
        }
    }
    if tree.size() > 0 {
        tracing::warn!(events = tree.size(), "hashed audit events older than the Merkle log");
    }
    Ok(tree.size())
}

/// The stored hashes, read through diesel. `tlog_tiles` asks with `&self`
/// and expects its own error type: the connection sits in a `RefCell`, and
/// the real error is kept aside for [`DbHashes::finish`].
struct DbHashes<'a> {
    conn: RefCell<&'a mut DbConn>,
    error: Cell<Option<StoreError>>,
}

impl<'a> DbHashes<'a> {
    fn new(conn: &'a mut DbConn) -> Self {
        DbHashes {
            conn: RefCell::new(conn),
            error: Cell::new(None),
        }
    }

    fn read(&self, indexes: &[u64]) -> Result<Vec<Hash>, StoreError> {
        if indexes.is_empty() {
            // A leaf that completes no subtree needs none: no round trip.
            return Ok(Vec::new());
        }
        let keys = indexes
            .iter()
            .map(|&i| stored_index(i))
            .collect::<Result<Vec<i64>, _>>()?;
        let mut conn = self
            .conn
            .try_borrow_mut()
            .map_err(|_| StoreError::corrupt("audit_hashes", "hash", "re-entrant read"))?;
        let found: HashMap<i64, Vec<u8>> = match &mut **conn {
            // SQLite: a cached point lookup per key; `idx IN (…)` of varying
            // length would be prepared afresh on every append.
            DbConn::Sqlite(c) => keys
                .iter()
                .filter_map(|&key| {
                    audit_hashes::table
                        .find(key)
                        .select((audit_hashes::idx, audit_hashes::hash))
                        .first::<(i64, Vec<u8>)>(c)
                        .optional()
                        .transpose()
                })
                .collect::<QueryResult<_>>()?,
            // PostgreSQL: one round trip.
            DbConn::Postgres(c) => audit_hashes::table
                .select((audit_hashes::idx, audit_hashes::hash))
                .filter(audit_hashes::idx.eq_any(&keys))
                .load::<(i64, Vec<u8>)>(c)?
                .into_iter()
                .collect(),
        };
        keys.iter()
            .map(|key| {
                let bytes = found.get(key).ok_or_else(|| {
                    StoreError::corrupt("audit_hashes", "hash", format!("stored hash {key} is missing"))
                })?;
                digest(bytes).map(Hash).ok_or_else(|| {
                    StoreError::corrupt("audit_hashes", "hash", format!("stored hash {key} is not 32 bytes"))
                })
            })
            .collect()
    }

    /// `result` with a read error put back in its place.
    fn finish<T>(self, result: Result<T, tlog_tiles::Error>) -> Result<T, StoreError> {
        let kept = self.error.take();
        result.map_err(|e| {
            kept.unwrap_or_else(|| StoreError::corrupt("audit_hashes", "hash", format!("audit merkle tree: {e}")))
        })
    }
}

impl HashReader for DbHashes<'_> {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, tlog_tiles::Error> {
        self.read(indexes).map_err(|e| {
            self.error.set(Some(e));
            tlog_tiles::Error::IndexesNotInTree
        })
    }
}

// ---- checkpoints ----

/// A signed tree head: the C2SP tlog-checkpoint for `size` leaves with tree
/// hash `root`, in a signed note (`signed_note`, made by the server).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub size: i64,
    pub root: Digest,
    pub signed_note: String,
    pub created_at: DateTime<Utc>,
}

/// Records a checkpoint, after checking it against the stored tree: `size`
/// within the log (else `OutOfRange`), `root` its tree hash and the note's
/// checkpoint body (origin, size, base64 root; up to the first blank line)
/// stating the same size and root (else `Inconsistent`). One checkpoint per
/// size: recording the same one again is a no-op, another one at that size
/// is a `Conflict`.
pub fn record_checkpoint(conn: &mut DbConn, checkpoint: &Checkpoint) -> Result<(), StoreError> {
    let root = tree_hash(conn, checkpoint.size)?;
    if root != checkpoint.root {
        return Err(StoreError::Inconsistent(
            "checkpoint root is not the tree hash at its size",
        ));
    }
    if !note_states(&checkpoint.signed_note, checkpoint.size, &checkpoint.root) {
        return Err(StoreError::Inconsistent(
            "checkpoint note does not state the checkpoint's size and root",
        ));
    }
    if let Some(existing) = self::checkpoint(conn, checkpoint.size)? {
        return if existing.signed_note == checkpoint.signed_note {
            Ok(())
        } else {
            Err(StoreError::Conflict("audit checkpoint of this size"))
        };
    }
    guarded(conn, "audit checkpoint of this size", |c| {
        diesel::insert_into(audit_checkpoints::table)
            .values((
                audit_checkpoints::size.eq(checkpoint.size),
                audit_checkpoints::root.eq(checkpoint.root.as_slice()),
                audit_checkpoints::signed_note.eq(&checkpoint.signed_note),
                audit_checkpoints::created_at.eq(to_ms(checkpoint.created_at)),
            ))
            .execute(c)
    })?;
    Ok(())
}

/// The checkpoint of the largest size, if any.
pub fn latest_checkpoint(conn: &mut DbConn) -> Result<Option<Checkpoint>, StoreError> {
    audit_checkpoints::table
        .order(audit_checkpoints::size.desc())
        .first::<CheckpointRow>(conn)
        .optional()?
        .map(CheckpointRow::parse)
        .transpose()
}

/// The checkpoint recorded for `size`, if any.
pub fn checkpoint(conn: &mut DbConn, size: i64) -> Result<Option<Checkpoint>, StoreError> {
    audit_checkpoints::table
        .find(size)
        .first::<CheckpointRow>(conn)
        .optional()?
        .map(CheckpointRow::parse)
        .transpose()
}

#[derive(Queryable)]
struct CheckpointRow {
    size: i64,
    root: Vec<u8>,
    signed_note: String,
    created_at: i64,
}

impl CheckpointRow {
    fn parse(self) -> Result<Checkpoint, StoreError> {
        Ok(Checkpoint {
            size: self.size,
            root: digest(&self.root).ok_or_else(|| StoreError::corrupt("audit_checkpoints", "root", "not 32 bytes"))?,
            signed_note: self.signed_note,
            created_at: from_ms(self.created_at, "audit_checkpoints", "created_at")?,
        })
    }
}

/// Whether the checkpoint body of `note` (C2SP tlog-checkpoint: origin,
/// size, base64 root hash, extension lines, up to the first blank line)
/// states `size` and `root`.
fn note_states(note: &str, size: i64, root: &Digest) -> bool {
    let Ok(size) = u64::try_from(size) else {
        return false;
    };
    tlog_tiles::Checkpoint::from_reader(&mut Cursor::new(note.as_bytes()), false)
        .is_ok_and(|body| body.size() == size && body.hash().0 == *root)
}

// ---- verification ----

/// A log that verified: `size` events whose recomputed tree hash is `root`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifiedLog {
    pub size: i64,
    pub root: Digest,
}

/// Where the audit log does not hold together. Tampering (or corruption)
/// unless it is [`TamperError::Store`], which is a failure to read.
#[derive(Debug, thiserror::Error)]
pub enum TamperError {
    /// The event with seq `expected` is missing: `found` is where it should be.
    #[error("audit log: event {expected} is missing (the next event has seq {found})")]
    Sequence { expected: i64, found: i64 },
    /// The entry of event `seq` is not an audit event's canonical JSON.
    #[error("audit log: event {seq}: {problem}")]
    Entry { seq: i64, problem: &'static str },
    /// A column of event `seq` differs from its entry.
    #[error("audit log: event {seq}: column {column} does not match the entry")]
    Column { seq: i64, column: &'static str },
    /// The stored leaf hash of event `seq` is not the hash of its entry.
    #[error("audit log: event {seq}: its stored leaf hash (hash {index}) does not match its entry")]
    LeafHash { seq: i64, index: u64 },
    /// A stored interior hash differs from the tree recomputed from the entries.
    #[error("audit log: stored hash {index} does not match the recomputed tree")]
    StoredHash { index: u64 },
    /// A stored hash the tree needs is missing.
    #[error("audit log: stored hash {index} is missing")]
    MissingHash { index: u64 },
    /// There are stored hashes beyond the tree of `size` events (events were
    /// removed from the end).
    #[error("audit log: stored hash {index} lies beyond the tree of {size} events")]
    ExtraHash { index: i64, size: i64 },
    /// The prune boundary lies beyond the latest checkpoint: pruned events
    /// that no signature pins (the store never prunes so far).
    #[error("audit log: events below {below} are pruned, but the latest checkpoint has size {latest}")]
    PrunedBeyondCheckpoint { below: i64, latest: i64 },
    /// The checkpoint at `size` does not match the recomputed tree.
    #[error("audit log: checkpoint at size {size}: {problem}")]
    Checkpoint { size: i64, problem: &'static str },
    /// The log could not be read (not evidence of tampering by itself).
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<diesel::result::Error> for TamperError {
    fn from(e: diesel::result::Error) -> Self {
        TamperError::Store(StoreError::Database(e))
    }
}

/// Verifies the whole audit log (see the module docs): the pruned prefix
/// from its stored hashes, the rest from its entries, and the checkpoints.
/// Streams the log in pages; memory stays O(log n). Run it in one
/// [`crate::Store::read`] for a consistent snapshot.
pub fn verify_log(conn: &mut DbConn) -> Result<VerifiedLog, TamperError> {
    let checkpoints: Vec<CheckpointRow> = audit_checkpoints::table
        .order(audit_checkpoints::size.asc())
        .load(conn)?;
    let latest = checkpoints.last().map_or(0, |cp| cp.size);
    let mut checkpoints = checkpoints.into_iter().peekable();
    let mut tree = TreeBuilder::new();
    check_checkpoints_at(&tree, &mut checkpoints)?;
    let pruned = pruned_below(conn)?.saturating_sub(1);
    if pruned > latest {
        return Err(TamperError::PrunedBeyondCheckpoint {
            below: pruned.saturating_add(1),
            latest,
        });
    }
    // The pruned prefix: its leaf hashes are all that is left of its
    // events; every hash above them is recomputed and compared, and the
    // checkpoints check the roots.
    while tree.size() < pruned {
        let count = u64::try_from((pruned - tree.size()).min(PAGE)).unwrap_or(0);
        let mut stored = stored_hashes_of(conn, tree.leaves(), count)?.into_iter();
        for _ in 0..count {
            let index = tlog_tiles::stored_hash_index(0, tree.leaves());
            let leaf = next_stored(&mut stored, index)?;
            let leaf = digest(&leaf).ok_or(TamperError::StoredHash { index })?;
            let recomputed = tree.push_leaf_hash(Hash(leaf))?;
            compare_stored(&mut stored, index, recomputed.get(1..).unwrap_or(&[]), 1, None)?;
            check_checkpoints_at(&tree, &mut checkpoints)?;
        }
    }
    loop {
        let rows: Vec<Row> = audit_events::table
            .filter(audit_events::seq.gt(tree.size()))
            .order(audit_events::seq.asc())
            .limit(PAGE)
            .load(conn)?;
        let Some(count) = u64::try_from(rows.len()).ok().filter(|&c| c > 0) else {
            break;
        };
        let mut stored = stored_hashes_of(conn, tree.leaves(), count)?.into_iter();
        for row in rows {
            let expected = tree.size().saturating_add(1);
            if row.seq != expected {
                return Err(TamperError::Sequence {
                    expected,
                    found: row.seq,
                });
            }
            check_row(&row)?;
            let base = tlog_tiles::stored_hash_index(0, tree.leaves());
            let recomputed = tree.push_hashes(row.entry.as_bytes())?;
            compare_stored(&mut stored, base, &recomputed, 0, Some(row.seq))?;
            check_checkpoints_at(&tree, &mut checkpoints)?;
        }
    }
    let end = stored_index(tlog_tiles::stored_hash_count(tree.leaves()))?;
    let extra: Option<i64> = audit_hashes::table
        .select(min(audit_hashes::idx))
        .filter(audit_hashes::idx.ge(end))
        .first(conn)?;
    if let Some(index) = extra {
        return Err(TamperError::ExtraHash {
            index,
            size: tree.size(),
        });
    }
    if let Some(beyond) = checkpoints.next() {
        return Err(TamperError::Checkpoint {
            size: beyond.size,
            problem: "it lies beyond the end of the log",
        });
    }
    Ok(VerifiedLog {
        size: tree.size(),
        root: tree.root()?,
    })
}

/// The stored hashes that leaves `first..first + count` add, in index
/// order (they are contiguous).
fn stored_hashes_of(conn: &mut DbConn, first: u64, count: u64) -> Result<Vec<(i64, Vec<u8>)>, TamperError> {
    let start = tlog_tiles::stored_hash_index(0, first);
    let end = tlog_tiles::stored_hash_count(first.saturating_add(count));
    Ok(audit_hashes::table
        .select((audit_hashes::idx, audit_hashes::hash))
        .filter(audit_hashes::idx.ge(stored_index(start)?))
        .filter(audit_hashes::idx.lt(stored_index(end)?))
        .order(audit_hashes::idx.asc())
        .load(conn)?)
}

/// The next stored hash, which must be the one at `index`.
fn next_stored(stored: &mut impl Iterator<Item = (i64, Vec<u8>)>, index: u64) -> Result<Vec<u8>, TamperError> {
    stored
        .next()
        .filter(|(idx, _)| u64::try_from(*idx) == Ok(index))
        .map(|(_, bytes)| bytes)
        .ok_or(TamperError::MissingHash { index })
}

/// Compares `recomputed`, the stored hashes from index `base + skip` on
/// (the first `skip` of the leaf's hashes are already taken), with the
/// next stored ones. `seq` names the event whose leaf hash is compared
/// (offset 0), if any.
fn compare_stored(
    stored: &mut impl Iterator<Item = (i64, Vec<u8>)>,
    base: u64,
    recomputed: &[Hash],
    skip: u64,
    seq: Option<i64>,
) -> Result<(), TamperError> {
    for (offset, hash) in (skip..).zip(recomputed) {
        let index = base.saturating_add(offset);
        let bytes = next_stored(stored, index)?;
        if digest(&bytes) != Some(hash.0) {
            return Err(match seq {
                Some(seq) if offset == 0 => TamperError::LeafHash { seq, index },
                _ => TamperError::StoredHash { index },
            });
        }
    }
    Ok(())
}

/// Checks the entry of `row` against its columns.
fn check_row(row: &Row) -> Result<(), TamperError> {
    let seq = row.seq;
    let event: AuditEvent = serde_json::from_str(&row.entry).map_err(|_| TamperError::Entry {
        seq,
        problem: "the entry is not an audit event",
    })?;
    if event.canonical_json() != row.entry {
        return Err(TamperError::Entry {
            seq,
            problem: "the entry is not in canonical form",
        });
    }
    match Row::new(seq, &event).first_difference(row) {
        Some(column) => Err(TamperError::Column { seq, column }),
        None => Ok(()),
    }
}

/// Checks the checkpoints due at the tree's current size.
fn check_checkpoints_at(
    tree: &TreeBuilder,
    checkpoints: &mut Peekable<impl Iterator<Item = CheckpointRow>>,
) -> Result<(), TamperError> {
    while let Some(cp) = checkpoints.next_if(|cp| cp.size <= tree.size()) {
        let size = cp.size;
        if size != tree.size() {
            // Only a negative size, which the schema forbids, gets here.
            return Err(TamperError::Checkpoint {
                size,
                problem: "its size is not a tree size",
            });
        }
        let root = tree.root()?;
        if digest(&cp.root) != Some(root) {
            return Err(TamperError::Checkpoint {
                size,
                problem: "its root does not match the recomputed tree",
            });
        }
        if !note_states(&cp.signed_note, size, &root) {
            return Err(TamperError::Checkpoint {
                size,
                problem: "its note does not state its size and root",
            });
        }
    }
    Ok(())
}

/// Recomputes the root of a log given as `(seq, entry)` pairs, which must be
/// the whole log from seq 1 without gaps. For verifiers outside the broker.
pub fn verify_entries(entries: &[(i64, String)]) -> Result<Digest, TamperError> {
    let mut tree = TreeBuilder::new();
    for (seq, entry) in entries {
        let expected = tree.size().saturating_add(1);
        if *seq != expected {
            return Err(TamperError::Sequence { expected, found: *seq });
        }
        tree.push(entry.as_bytes())?;
    }
    Ok(tree.root()?)
}

/// Builds a log's tree in memory, one entry at a time, keeping only the
/// roots of its perfect subtrees (O(log n) hashes): the streaming form of
/// [`verify_entries`], and what [`verify_log`] recomputes the table with.
#[derive(Debug, Clone, Default)]
pub struct TreeBuilder {
    size: i64,
    /// `(stored hash index, hash)` of the perfect subtrees whose sizes add
    /// up to `size`, largest (leftmost) first.
    frontier: Vec<(u64, Hash)>,
}

impl TreeBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    /// The number of entries pushed.
    pub fn size(&self) -> i64 {
        self.size
    }

    fn leaves(&self) -> u64 {
        u64::try_from(self.size).unwrap_or(0)
    }

    /// Adds the next entry and returns the stored hashes it adds (its leaf
    /// hash first, then the subtrees it completes), as `audit_hashes` holds
    /// them from `stored_hash_index(0, size)` on.
    pub fn push(&mut self, entry: &[u8]) -> Result<Vec<Digest>, StoreError> {
        self.push_hashes(entry).map(digests)
    }

    /// A tree that starts after a pruned prefix of `size` leaves, given the
    /// hashes of the perfect subtrees that make it up, largest (leftmost)
    /// first ([`PrunedPrefix::subtrees`]). Entries pushed next are leaves
    /// `size`, `size + 1`, …; the root it reaches pins the given hashes.
    pub fn from_prefix(size: i64, subtrees: &[Digest]) -> Result<Self, StoreError> {
        let leaves = u64::try_from(size).map_err(|_| StoreError::OutOfRange("prefix size is negative"))?;
        let indexes = tlog_tiles::sub_tree_index(0, leaves, Vec::new());
        if indexes.len() != subtrees.len() {
            return Err(StoreError::OutOfRange(
                "the number of subtree hashes does not fit the prefix size",
            ));
        }
        Ok(TreeBuilder {
            size,
            frontier: indexes.into_iter().zip(subtrees.iter().copied().map(Hash)).collect(),
        })
    }

    fn push_hashes(&mut self, entry: &[u8]) -> Result<Vec<Hash>, StoreError> {
        self.push_leaf_hash(tlog_tiles::record_hash(entry))
    }

    /// Adds the next leaf by its hash (of a pruned event: only its hash is
    /// left) and returns the stored hashes it adds.
    fn push_leaf_hash(&mut self, leaf: Hash) -> Result<Vec<Hash>, StoreError> {
        let n = self.leaves();
        let size = self
            .size
            .checked_add(1)
            .ok_or(StoreError::OutOfRange("the log is full"))?;
        let hashes = tlog_tiles::stored_hashes_for_record_hash(n, leaf, &*self)
            .map_err(|e| StoreError::corrupt("audit_hashes", "hash", format!("audit merkle tree: {e}")))?;
        // The new leaf completed `level` subtrees: their left halves leave
        // the frontier, the largest completed subtree joins it.
        let (Some(&top), Ok(level)) = (hashes.last(), u8::try_from(hashes.len().saturating_sub(1))) else {
            return Err(StoreError::corrupt(
                "audit_hashes",
                "hash",
                "audit merkle tree: no leaf hash",
            ));
        };
        let kept = self.frontier.len().saturating_sub(usize::from(level));
        self.frontier.truncate(kept);
        self.frontier
            .push((tlog_tiles::stored_hash_index(level, n >> level), top));
        self.size = size;
        Ok(hashes)
    }

    /// The tree hash of the entries pushed so far.
    pub fn root(&self) -> Result<Digest, StoreError> {
        tlog_tiles::tree_hash(self.leaves(), self)
            .map(|h| h.0)
            .map_err(|e| StoreError::corrupt("audit_hashes", "hash", format!("audit merkle tree: {e}")))
    }
}

impl HashReader for TreeBuilder {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, tlog_tiles::Error> {
        indexes
            .iter()
            .map(|index| {
                self.frontier
                    .iter()
                    .find(|(i, _)| i == index)
                    .map(|(_, h)| *h)
                    .ok_or(tlog_tiles::Error::IndexesNotInTree)
            })
            .collect()
    }
}

// ---- proof checking ----

/// Why a proof was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// The indexes or sizes cannot have a proof.
    #[error("out of range: {0}")]
    OutOfRange(&'static str),
    /// The proof does not lead from the leaf (or old root) to the root.
    #[error("the proof does not verify")]
    Invalid,
}

/// Checks that `proof` shows the leaf with hash `leaf_hash` at `index` in
/// the tree of `size` leaves whose hash is `root` (RFC 9162 §2.1.3.2).
pub fn check_inclusion(
    leaf_hash: &Digest,
    index: i64,
    size: i64,
    proof: &[Digest],
    root: &Digest,
) -> Result<(), ProofError> {
    let n = u64::try_from(index).map_err(|_| ProofError::OutOfRange("index is negative"))?;
    let t = u64::try_from(size).map_err(|_| ProofError::OutOfRange("size is negative"))?;
    if n >= t {
        return Err(ProofError::OutOfRange("index must be less than size"));
    }
    let proof: Vec<Hash> = proof.iter().copied().map(Hash).collect();
    tlog_tiles::check_record(&proof, t, Hash(*root), n, Hash(*leaf_hash)).map_err(|_| ProofError::Invalid)
}

/// Checks that `proof` shows the tree of `old` leaves with hash `old_root`
/// to be a prefix of the tree of `new` leaves with hash `new_root`
/// (RFC 9162 §2.1.4.2); `1 <= old <= new`.
pub fn check_consistency(
    old: i64,
    new: i64,
    old_root: &Digest,
    new_root: &Digest,
    proof: &[Digest],
) -> Result<(), ProofError> {
    let n = u64::try_from(old).map_err(|_| ProofError::OutOfRange("old size is negative"))?;
    let t = u64::try_from(new).map_err(|_| ProofError::OutOfRange("new size is negative"))?;
    if n == 0 {
        return Err(ProofError::OutOfRange("old size must be at least 1"));
    }
    if n > t {
        return Err(ProofError::OutOfRange("old size is larger than new size"));
    }
    let proof: Vec<Hash> = proof.iter().copied().map(Hash).collect();
    tlog_tiles::check_tree(&proof, t, Hash(*new_root), n, Hash(*old_root)).map_err(|_| ProofError::Invalid)
}

// ---- helpers ----

fn non_negative(value: i64, what: &'static str) -> Result<u64, StoreError> {
    u64::try_from(value).map_err(|_| StoreError::OutOfRange(what))
}

/// The argument names for [`size_within_log`]'s errors.
struct SizeArg {
    negative: &'static str,
    beyond: &'static str,
}

const SIZE: SizeArg = SizeArg {
    negative: "size is negative",
    beyond: "size is beyond the log",
};
const NEW_SIZE: SizeArg = SizeArg {
    negative: "new size is negative",
    beyond: "new size is beyond the log",
};
const END: SizeArg = SizeArg {
    negative: "end is negative",
    beyond: "end is beyond the log",
};

/// `size` as a tree size: not negative and not beyond the log.
fn size_within_log(conn: &mut DbConn, size: i64, arg: SizeArg) -> Result<u64, StoreError> {
    let t = u64::try_from(size).map_err(|_| StoreError::OutOfRange(arg.negative))?;
    if size > tree_size(conn)? {
        return Err(StoreError::OutOfRange(arg.beyond));
    }
    Ok(t)
}

fn stored_index(index: u64) -> Result<i64, StoreError> {
    i64::try_from(index).map_err(|_| StoreError::corrupt("audit_hashes", "idx", "out of range"))
}

fn digest(bytes: &[u8]) -> Option<Digest> {
    bytes.try_into().ok()
}

fn digests(hashes: Vec<Hash>) -> Vec<Digest> {
    hashes.into_iter().map(|h| h.0).collect()
}
