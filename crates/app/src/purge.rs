//! The purge: deletes what the retention rules
//! ([`doorstroom_domain::retention`], periods from `[retention]`) say must
//! go, inside the broker on a schedule (the server's `purge` scheduler) and
//! from the command line (`doorstroom purge [--dry-run]`), both through
//! [`purge_expired`] and [`purge_dry_run`].
//!
//! # How it runs
//! In bounded batches: each batch is **one transaction** that deletes at
//! most `batch_size` records (an application takes its remaining packages
//! with it) and appends one audit event per deleted record, with the
//! record's pseudonym and the [`PurgeReason`] of the rule that fired. The
//! order in a batch is packages, applications, then consent and inspection
//! records (which start their own period when the student's last
//! application at a school is gone, recorded in the same transaction), then
//! the rest: the audit log's prefix, feed entries, safety-net cohorts,
//! transparency links and deactivated staff accounts. A
//! pause between batches gives the exchange's writers the database.
//!
//! A purge killed half-way leaves every batch either committed with its
//! audit events or not at all; the next run finds what is still due and
//! carries on. The run ends when a batch finds nothing due.
//!
//! With several broker nodes on one PostgreSQL, each batch first takes a
//! transaction-level advisory lock ([`retention::try_lock_purge`]); a node
//! that does not get it ends its run ([`PurgeSummary::busy`]), since another
//! node is purging.
//!
//! # Who purges
//! The operator's side of the broker ([`Principal::Operator`]), asked through
//! [`authorize`] for [`Action::PurgeExpired`] once per run. The audit
//! events name the actor as the broker's retention job
//! ([`retention_actor`]: kind `broker`, id `retention_job`) and carry the
//! run's id as their request id, so one run can be followed in the log.
//!
//! A dry run ([`purge_dry_run`]) counts what would go, per kind and reason, and
//! changes nothing but the log: it is one `purge_dry_run` event with the
//! counts, because an operator looking at what is due about students is an
//! access too.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use chrono::{DateTime, Utc};
use doorstroom_domain::FeedEventKind;
use doorstroom_domain::feed::EXPIRY_NOTICE;
use doorstroom_domain::{
    Action, Actor, ActorKind, AuditAction, AuditEvent, Brin, Clock, Decision, Outcome, Principal, Pseudonym,
    PurgeReason, Purpose, Resource, ResourceRef, RetentionPolicy, authorize,
};
use doorstroom_domain::{ResourceKind, SideEvent};
use doorstroom_store::events::NewFeedEvent;
use doorstroom_store::retention::{self, LedgerKind};
use doorstroom_store::{DbConn, Store, StoreError, audit, cohorts, events, staff};
use serde::Serialize;

/// The actor id of the retention job in audit events.
pub const ACTOR_ID: &str = "retention_job";

/// The most records a dry run looks at, per kind.
const DRY_RUN_LIMIT: i64 = 1_000_000;

/// The actor of every purge event: the broker's retention job.
pub fn retention_actor() -> Actor {
    Actor {
        kind: ActorKind::Broker,
        institution: None,
        id: Some(ACTOR_ID.into()),
    }
}

/// How the purge runs (the settings' `[retention]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PurgeOptions {
    /// The most records one batch deletes (at least 1).
    pub batch_size: i64,
    /// The pause between batches.
    pub pause: Duration,
}

/// What a purge deleted (or, dry, would delete): counts per record kind and
/// reason. Never a pseudonym or id: this goes to the operator's terminal
/// and the broker's log.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PurgeSummary {
    pub run_id: String,
    pub dry_run: bool,
    /// Committed batches (0 in a dry run).
    pub batches: u32,
    /// kind → reason → count.
    pub deleted: BTreeMap<String, BTreeMap<String, u64>>,
    /// The run ended because another broker node was purging.
    pub busy: bool,
}

impl PurgeSummary {
    fn new(run_id: &str, dry_run: bool) -> Self {
        Self {
            run_id: run_id.to_owned(),
            dry_run,
            ..Self::default()
        }
    }

    /// All records counted.
    pub fn total(&self) -> u64 {
        self.deleted.values().flat_map(|r| r.values()).sum()
    }

    fn add(&mut self, kind: ResourceKind, reason: PurgeReason, n: u64) {
        *self
            .deleted
            .entry(kind.as_str().to_owned())
            .or_default()
            .entry(reason.as_str().to_owned())
            .or_default() += n;
    }

    fn merge(&mut self, other: PurgeSummary) {
        for (kind, reasons) in other.deleted {
            for (reason, n) in reasons {
                *self.deleted.entry(kind.clone()).or_default().entry(reason).or_default() += n;
            }
        }
    }

    /// One line per kind and reason, for the dry run's audit event.
    fn counts_text(&self) -> String {
        let mut parts = Vec::new();
        for (kind, reasons) in &self.deleted {
            for (reason, n) in reasons {
                parts.push(format!("{kind}/{reason}={n}"));
            }
        }
        if parts.is_empty() {
            "nothing due".into()
        } else {
            parts.join(" ")
        }
    }
}

/// Why a purge stopped.
#[derive(Debug, thiserror::Error)]
pub enum PurgeError {
    #[error("the retention job may not run for this principal ({0})")]
    Denied(&'static str),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A new run id (the request id of the run's audit events).
pub fn new_run_id() -> String {
    format!("purge-{}", uuid::Uuid::new_v4().simple())
}

/// Refuses (and audits the refusal) unless `principal` may run the purge.
fn authorized(store: &Store, now: DateTime<Utc>, principal: &Principal, run_id: &str) -> Result<(), PurgeError> {
    match authorize(principal, Action::PurgeExpired, &Resource::Broker) {
        Decision::Allow => Ok(()),
        Decision::Deny(reason) => {
            let event = AuditEvent::success(
                now,
                principal,
                AuditAction::from(Action::PurgeExpired),
                ResourceRef::new(ResourceKind::Retention, None),
                Purpose::Operations,
            )
            .with_request_id(Some(run_id.to_owned()))
            .denied(reason);
            store.write(|conn| audit::append(conn, &event))?;
            Err(PurgeError::Denied(reason.as_str()))
        }
    }
}

/// Runs the purge until nothing is due, batch by batch (see the module
/// documentation), with the run's id `run_id`. Who may: the operator's
/// side of the broker (its scheduler, `doorstroom purge`). Records, as the
/// retention job, one `*_purged` event per deleted record and one
/// `audit_events_pruned` per batch that pruned the log; a refusal is
/// recorded as the principal's. Blocking: run it off the async executor.
pub fn purge_expired(
    store: &Store,
    policy: &RetentionPolicy,
    clock: &dyn Clock,
    principal: &Principal,
    options: PurgeOptions,
    run_id: &str,
) -> Result<PurgeSummary, PurgeError> {
    authorized(store, clock.now(), principal, run_id)?;
    let mut summary = PurgeSummary::new(run_id, false);
    loop {
        let now = millis(clock.now());
        let outcome = store.write(|conn| batch(conn, policy, now, options.batch_size, run_id))?;
        let Some(done) = outcome else {
            summary.busy = true;
            break;
        };
        if done.total() == 0 {
            break;
        }
        summary.batches += 1;
        summary.merge(done);
        if !options.pause.is_zero() {
            std::thread::sleep(options.pause);
        }
    }
    Ok(summary)
}

/// Counts what [`purge_expired`] would delete now, per kind and reason,
/// without deleting anything. Who may: as [`purge_expired`]. Records one
/// `purge_dry_run` event with the counts (the principal's: looking at what
/// is due about students is an access too).
pub fn purge_dry_run(
    store: &Store,
    policy: &RetentionPolicy,
    now: DateTime<Utc>,
    principal: &Principal,
    run_id: &str,
) -> Result<PurgeSummary, PurgeError> {
    let now = millis(now);
    authorized(store, now, principal, run_id)?;
    store.write(|conn| {
        let summary = survey(conn, policy, now, run_id)?;
        let mut event = AuditEvent::success(
            now,
            principal,
            SideEvent::PurgeDryRun.into(),
            ResourceRef::new(ResourceKind::Retention, None),
            Purpose::Operations,
        )
        .with_request_id(Some(run_id.to_owned()));
        event.reason = Some(summary.counts_text());
        audit::append(conn, &event)?;
        Ok(summary)
    })
}

/// Stored times have millisecond precision; decide on what is stored.
fn millis(now: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(now.timestamp_millis()).unwrap_or(now)
}

/// The retention job's event for the deletion of one record: `kind` `id`,
/// about `student` (`None` for a record about no student, a staff
/// account), under `reason`.
fn deletion_event(
    now: DateTime<Utc>,
    run_id: &str,
    kind: ResourceKind,
    id: String,
    student: Option<&Pseudonym>,
    reason: PurgeReason,
) -> AuditEvent {
    AuditEvent {
        time: now,
        actor: retention_actor(),
        on_behalf_of: None,
        action: SideEvent::Purged(kind).into(),
        resource: ResourceRef::new(kind, Some(id)),
        data_subject: student.cloned(),
        purpose: Purpose::Operations,
        outcome: Outcome::Success,
        reason: Some(reason.as_str().to_owned()),
        request_id: Some(run_id.to_owned()),
    }
}

/// The one event that records a batch's audit prune: the range of seqs
/// (resource id `first..=last`) and the count (in the reason, after the
/// rule's name). No data subject: it is about many.
fn audit_pruned_event(now: DateTime<Utc>, run_id: &str, pruned: retention::PrunedAudit) -> AuditEvent {
    AuditEvent {
        time: now,
        actor: retention_actor(),
        on_behalf_of: None,
        action: SideEvent::AuditEventsPruned.into(),
        resource: ResourceRef::new(
            ResourceKind::AuditEvents,
            Some(format!("{}..={}", pruned.first, pruned.last)),
        ),
        data_subject: None,
        purpose: Purpose::Operations,
        outcome: Outcome::Success,
        reason: Some(format!(
            "{} count={}",
            PurgeReason::AuditRetention.as_str(),
            pruned.count()
        )),
        request_id: Some(run_id.to_owned()),
    }
}

/// The audit resource kind of a ledger record.
const fn ledger_kind(kind: LedgerKind) -> ResourceKind {
    match kind {
        LedgerKind::Consent => ResourceKind::ConsentEvent,
        LedgerKind::Inspection => ResourceKind::Inspection,
    }
}

/// One batch, in the caller's transaction: `None` if another node holds
/// the purge lock.
fn batch(
    conn: &mut DbConn,
    policy: &RetentionPolicy,
    now: DateTime<Utc>,
    limit: i64,
    run_id: &str,
) -> Result<Option<PurgeSummary>, StoreError> {
    if !retention::try_lock_purge(conn)? {
        return Ok(None);
    }
    let mut batch = Batch {
        conn,
        policy,
        now,
        run_id,
        left: limit,
        done: PurgeSummary::new(run_id, false),
    };
    batch.packages()?;
    if batch.left > 0 {
        batch.applications()?;
    }
    if batch.left > 0 {
        batch.ledger_groups()?;
    }
    if batch.left > 0 {
        batch.audit_prefix()?;
    }
    if batch.left > 0 {
        batch.feed_entries()?;
    }
    if batch.left > 0 {
        batch.cohort_members()?;
    }
    if batch.left > 0 {
        batch.transparency_links()?;
    }
    if batch.left > 0 {
        batch.staff_accounts()?;
    }
    batch.expiry_notices()?;
    retention::forget_gone_marks(batch.conn, policy, now)?;
    Ok(Some(batch.done))
}

/// A batch under way: what it may still delete (`left`) and what it did.
struct Batch<'a> {
    conn: &'a mut DbConn,
    policy: &'a RetentionPolicy,
    now: DateTime<Utc>,
    run_id: &'a str,
    left: i64,
    done: PurgeSummary,
}

impl Batch<'_> {
    /// Records the deletion of `kind` `id` about `student`, related to
    /// `parties` (read before the deletion).
    fn deleted(
        &mut self,
        kind: ResourceKind,
        id: String,
        student: &Pseudonym,
        reason: PurgeReason,
        parties: &[Brin],
    ) -> Result<(), StoreError> {
        let event = deletion_event(self.now, self.run_id, kind, id, Some(student), reason);
        audit::append_related(self.conn, &event, parties)?;
        Ok(())
    }

    /// Deletes `package` under `reason`; whether it was still there.
    fn package(&mut self, package: retention::PackageCandidate, reason: PurgeReason) -> Result<bool, StoreError> {
        if !retention::delete_package(self.conn, &package.id)? {
            return Ok(false);
        }
        let parties = [package.sender, package.recipient];
        self.deleted(ResourceKind::Package, package.id, &package.student, reason, &parties)?;
        self.done.add(ResourceKind::Package, reason, 1);
        Ok(true)
    }

    /// The packages due under their own period.
    fn packages(&mut self) -> Result<(), StoreError> {
        for package in retention::due_packages(self.conn, self.policy, self.now, self.left)? {
            let Some(reason) = self.policy.package_purge_reason(&package.facts, self.now) else {
                continue;
            };
            if self.package(package, reason)? {
                self.left -= 1;
            }
        }
        Ok(())
    }

    /// The applications due, each with its remaining packages.
    fn applications(&mut self) -> Result<(), StoreError> {
        for application in retention::due_applications(self.conn, self.policy, self.now, self.left)? {
            let Some(reason) = self.policy.application_purge_reason(&application.facts, self.now) else {
                continue;
            };
            // Its packages go with it, under the application's rule.
            for package in retention::packages_of(self.conn, application.id)? {
                self.package(package, reason)?;
            }
            if retention::delete_application(self.conn, &application, self.now)? {
                let parties: Vec<Brin> = std::iter::once(application.receiving.clone())
                    .chain(application.sending.clone())
                    .collect();
                let id = application.id.to_string();
                self.deleted(ResourceKind::Application, id, &application.student, reason, &parties)?;
                self.done.add(ResourceKind::Application, reason, 1);
                self.left -= 1;
            }
        }
        Ok(())
    }

    /// The consent and inspection records due, a student's records at one
    /// school at a time.
    fn ledger_groups(&mut self) -> Result<(), StoreError> {
        for candidate in retention::due_ledger_groups(self.conn, self.policy, self.now, self.left)? {
            let Some(reason) = self.policy.ledger_purge_reason(&candidate.facts, self.now) else {
                continue;
            };
            let kind = ledger_kind(candidate.group.kind);
            let ids = retention::delete_ledger_group(self.conn, &candidate.group)?;
            let (student, school) = (&candidate.group.student, &candidate.group.institution);
            for id in &ids {
                self.deleted(kind, id.to_string(), student, reason, std::slice::from_ref(school))?;
            }
            self.done.add(kind, reason, ids.len() as u64);
            self.left -= i64::try_from(ids.len()).unwrap_or(i64::MAX);
            if self.left <= 0 {
                break;
            }
        }
        Ok(())
    }

    /// The audit events past their period, below the latest checkpoint:
    /// one summary event for the range.
    fn audit_prefix(&mut self) -> Result<(), StoreError> {
        if let Some(pruned) = retention::prune_audit(self.conn, self.policy, self.now, self.left)? {
            audit::append(self.conn, &audit_pruned_event(self.now, self.run_id, pruned))?;
            self.done.add(
                ResourceKind::AuditEvent,
                PurgeReason::AuditRetention,
                u64::try_from(pruned.count()).unwrap_or(0),
            );
        }
        Ok(())
    }
}

impl Batch<'_> {
    /// Announces in the recipient's feed, once, each package that the
    /// rules delete within [`EXPIRY_NOTICE`] (`package.expiring`). Not a
    /// deletion: it counts for nothing in the summary.
    fn expiry_notices(&mut self) -> Result<(), StoreError> {
        let horizon = self.now + EXPIRY_NOTICE;
        let limit = self.left.max(1);
        for package in retention::unannounced_expiring(self.conn, self.policy, horizon, limit)? {
            events::append(
                self.conn,
                &NewFeedEvent {
                    institution: &package.recipient,
                    kind: FeedEventKind::PackageExpiring,
                    package_id: Some(&package.id),
                    application_id: Some(package.application_id),
                    section: None,
                    occurred_at: self.now,
                    at_risk: None,
                },
            )?;
            retention::mark_announced(self.conn, &package.id, self.now)?;
        }
        Ok(())
    }

    /// Transparency links that ended (expired or revoked) longer ago than
    /// their period, with their sessions: one deletion event per link,
    /// about its student and related to the school that issued it, so that
    /// the student's page and the school's privacy officer show it.
    fn transparency_links(&mut self) -> Result<(), StoreError> {
        let before = self.policy.links_due_before(self.now);
        for link in doorstroom_store::transparency::delete_ended_before(self.conn, before, self.left)? {
            let kind = ResourceKind::TransparencyLink;
            let reason = PurgeReason::LinkRetention;
            let event = deletion_event(
                self.now,
                self.run_id,
                kind,
                link.id.to_string(),
                Some(&link.student),
                reason,
            );
            audit::append_related(self.conn, &event, std::slice::from_ref(&link.school))?;
            self.done.add(kind, reason, 1);
            self.left -= 1;
        }
        Ok(())
    }

    /// Staff accounts deactivated longer ago than the audit period (no
    /// event of what they did is kept any more): one deletion event per
    /// account, naming it by its id alone. About no student, so related to
    /// no institution (`audit::append_related` relates only events about a
    /// student): like the other work of the broker's own jobs, it is in the
    /// broker's privacy officer's scope.
    fn staff_accounts(&mut self) -> Result<(), StoreError> {
        let until = self.policy.staff_accounts_due_until(self.now);
        for id in staff::delete_deactivated_until(self.conn, until, self.left)? {
            let kind = ResourceKind::StaffAccount;
            let reason = PurgeReason::StaffAccountRetention;
            let event = deletion_event(self.now, self.run_id, kind, id.to_string(), None, reason);
            audit::append(self.conn, &event)?;
            self.done.add(kind, reason, 1);
            self.left -= 1;
        }
        Ok(())
    }

    /// The event feed's entries past their period: one summary event for
    /// the batch (they hold ids and times only, no data subject).
    fn feed_entries(&mut self) -> Result<(), StoreError> {
        let until = self.policy.events_due_until(self.now);
        let deleted = events::delete_until(self.conn, until, self.left)?;
        if deleted == 0 {
            return Ok(());
        }
        self.summary_deleted(ResourceKind::EventFeed, PurgeReason::EventsRetention, deleted)
    }
}

impl Batch<'_> {
    /// The safety net's cohorts past their period after their enrolment
    /// deadline: one deletion event per member, about that student.
    fn cohort_members(&mut self) -> Result<(), StoreError> {
        let last_year = self.policy.cohorts().last_year_due(self.now.date_naive());
        for gone in cohorts::delete_through(self.conn, last_year, self.left)? {
            let id = format!("{}/{}", gone.school, gone.school_year);
            let event = deletion_event(
                self.now,
                self.run_id,
                ResourceKind::CohortMember,
                id,
                Some(&gone.student),
                PurgeReason::CohortRetention,
            );
            audit::append(self.conn, &event)?;
            self.done
                .add(ResourceKind::CohortMember, PurgeReason::CohortRetention, 1);
            self.left -= 1;
        }
        Ok(())
    }
}

impl Batch<'_> {
    /// Records `deleted` records of `kind` gone under `reason` as one
    /// summary event of the retention job (records that name no data
    /// subject one by one), and counts them against the batch.
    fn summary_deleted(&mut self, kind: ResourceKind, reason: PurgeReason, deleted: usize) -> Result<(), StoreError> {
        let event = AuditEvent {
            time: self.now,
            actor: retention_actor(),
            on_behalf_of: None,
            action: SideEvent::Purged(kind).into(),
            resource: ResourceRef::new(kind, None),
            data_subject: None,
            purpose: Purpose::Operations,
            outcome: Outcome::Success,
            reason: Some(format!("{} count={deleted}", reason.as_str())),
            request_id: Some(self.run_id.to_owned()),
        };
        audit::append(self.conn, &event)?;
        self.done.add(kind, reason, u64::try_from(deleted).unwrap_or(0));
        self.left -= i64::try_from(deleted).unwrap_or(i64::MAX);
        Ok(())
    }
}

/// What is due now, counted as [`batch`] would delete it, without deleting.
/// Ledger records whose period starts only when an application due now is
/// deleted are not counted: they start their period then.
fn survey(
    conn: &mut DbConn,
    policy: &RetentionPolicy,
    now: DateTime<Utc>,
    run_id: &str,
) -> Result<PurgeSummary, StoreError> {
    let mut summary = PurgeSummary::new(run_id, true);
    let mut counted = HashSet::new();
    for package in retention::due_packages(conn, policy, now, DRY_RUN_LIMIT)? {
        if let Some(reason) = policy.package_purge_reason(&package.facts, now) {
            counted.insert(package.id);
            summary.add(ResourceKind::Package, reason, 1);
        }
    }
    for application in retention::due_applications(conn, policy, now, DRY_RUN_LIMIT)? {
        let Some(reason) = policy.application_purge_reason(&application.facts, now) else {
            continue;
        };
        for package in retention::packages_of(conn, application.id)? {
            if counted.insert(package.id) {
                summary.add(ResourceKind::Package, reason, 1);
            }
        }
        summary.add(ResourceKind::Application, reason, 1);
    }
    for candidate in retention::due_ledger_groups(conn, policy, now, DRY_RUN_LIMIT)? {
        if let Some(reason) = policy.ledger_purge_reason(&candidate.facts, now) {
            let n = retention::ledger_ids(conn, &candidate.group)?.len() as u64;
            summary.add(ledger_kind(candidate.group.kind), reason, n);
        }
    }
    let members = cohorts::count_through(conn, policy.cohorts().last_year_due(now.date_naive()))?;
    if members > 0 {
        let n = u64::try_from(members).unwrap_or(0);
        summary.add(ResourceKind::CohortMember, PurgeReason::CohortRetention, n);
    }
    let feed_entries = events::count_until(conn, policy.events_due_until(now))?;
    if feed_entries > 0 {
        let n = u64::try_from(feed_entries).unwrap_or(0);
        summary.add(ResourceKind::EventFeed, PurgeReason::EventsRetention, n);
    }
    let accounts = staff::count_deactivated_until(conn, policy.staff_accounts_due_until(now))?;
    if accounts > 0 {
        let n = u64::try_from(accounts).unwrap_or(0);
        summary.add(ResourceKind::StaffAccount, PurgeReason::StaffAccountRetention, n);
    }
    if let Some(pruned) = retention::due_audit_prefix(conn, policy, now, DRY_RUN_LIMIT)? {
        summary.add(
            ResourceKind::AuditEvent,
            PurgeReason::AuditRetention,
            u64::try_from(pruned.count()).unwrap_or(0),
        );
    }
    Ok(summary)
}
