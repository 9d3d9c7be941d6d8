//! The audit log's prune: the prefix of events past the audit period,
//! deleted through the log's own door (see the module documentation of
//! [`crate::retention`]).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use doorstroom_domain::RetentionPolicy;

use crate::schema::{audit_events, audit_prune_permits, audit_prunes};
use crate::{DbConn, StoreError, from_ms, to_ms};

/// A prefix of the audit log that [`prune_audit`] deleted (or, dry, would
/// delete): events `first..=last`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrunedAudit {
    pub first: i64,
    pub last: i64,
}

impl PrunedAudit {
    /// The number of events.
    pub fn count(&self) -> i64 {
        self.last.saturating_sub(self.first).saturating_add(1)
    }
}

/// The audit events [`prune_audit`] may delete now, at most `limit`: the
/// longest run from the prune boundary on in which every event is due
/// ([`RetentionPolicy::audit_purge_reason`] on its recorded time), that
/// lies within the latest checkpoint (so a signature pins what the events
/// were) and leaves the newest event (the log's size is its highest seq).
/// An event that is not yet due stops the run, so one recorded with a
/// clock that ran behind is pruned late, never early. `None` if nothing is
/// due.
pub fn due_audit_prefix(
    conn: &mut DbConn,
    policy: &RetentionPolicy,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Option<PrunedAudit>, StoreError> {
    let Some(checkpoint) = crate::merkle::latest_checkpoint(conn)? else {
        return Ok(None);
    };
    let first = crate::merkle::pruned_below(conn)?;
    let newest = crate::merkle::tree_size(conn)?;
    let last_allowed = checkpoint.size.min(newest.saturating_sub(1));
    let rows: Vec<(i64, i64)> = audit_events::table
        .select((audit_events::seq, audit_events::time))
        .filter(audit_events::seq.ge(first).and(audit_events::seq.le(last_allowed)))
        .order(audit_events::seq.asc())
        .limit(limit.max(0))
        .load(conn)?;
    let mut last = None;
    for (seq, time) in rows {
        let recorded_at = from_ms(time, "audit_events", "time")?;
        let contiguous = seq == last.map_or(first, |l: i64| l.saturating_add(1));
        if !contiguous || policy.audit_purge_reason(recorded_at, now).is_none() {
            break;
        }
        last = Some(seq);
    }
    Ok(last.map(|last| PrunedAudit { first, last }))
}

/// Deletes the audit events [`due_audit_prefix`] finds (at most `limit`)
/// in the caller's transaction and records the new prune boundary; their
/// stored hashes stay. The caller appends the audit event that records the
/// prune, in the same transaction. `None` if nothing is due.
pub fn prune_audit(
    conn: &mut DbConn,
    policy: &RetentionPolicy,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Option<PrunedAudit>, StoreError> {
    let Some(pruned) = due_audit_prefix(conn, policy, now, limit)? else {
        return Ok(None);
    };
    let below = pruned.last.saturating_add(1);
    diesel::insert_into(audit_prunes::table)
        .values((
            audit_prunes::pruned_below.eq(below),
            audit_prunes::pruned_at.eq(to_ms(now)),
        ))
        .execute(conn)?;
    diesel::insert_into(audit_prune_permits::table)
        .values(audit_prune_permits::below.eq(below))
        .execute(conn)?;
    let deleted = diesel::delete(audit_events::table.filter(audit_events::seq.lt(below))).execute(conn);
    let removed = diesel::delete(audit_prune_permits::table).execute(conn);
    let deleted = deleted?;
    removed?;
    if i64::try_from(deleted).ok() != Some(pruned.count()) {
        return Err(StoreError::corrupt(
            "audit_events",
            "seq",
            format!("pruning {}..={} deleted {deleted} events", pruned.first, pruned.last),
        ));
    }
    Ok(Some(pruned))
}
