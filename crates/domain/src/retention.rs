//! Storage limitation (GDPR art. 5(1)(e)): when each kind of record must go.
//!
//! The rules are pure functions over *facts* that the store supplies
//! ([`PackageFacts`], [`ApplicationFacts`], [`LedgerFacts`], the moment an
//! audit event was recorded), with the current time passed in. For every
//! record there is one **due moment**, the earliest moment at which any of
//! its rules fires, and from that moment on (inclusive) a **reason**,
//! [`PurgeReason`], which is what the purge writes into the audit event of
//! the deletion. Before the due moment there is no reason, so nothing is
//! deleted early: `purge_reason(now).is_some()` exactly when `now >= due`.
//!
//! Every kind of record has a bound that does not depend on anything
//! happening later (a delivery, an acknowledgement, a status report), so no
//! record is kept for ever because the other side went quiet.
//!
//! # The rules
//!
//! | record | rule | due at | reason |
//! |---|---|---|---|
//! | package | delivered and acknowledged | `acknowledged_at + package_after_acknowledged` | [`PurgeReason::AcknowledgedDelivery`] |
//! | package | the application ended | `application_ended_at + package_after_application_end` | [`PurgeReason::ApplicationEnded`] |
//! | package | always | `submitted_at + package_max` | [`PurgeReason::HardMaximum`] |
//! | application | it ended | `ended_at + application_after_end` | [`PurgeReason::ApplicationRetention`] |
//! | application | always | `created_at + application_max` | [`PurgeReason::HardMaximum`] |
//! | consent / inspection records | the student's last application at that school is gone | `last_application_gone_at + consent_after_application_gone` | [`PurgeReason::LedgerRetention`] |
//! | consent / inspection records | always | `recorded_at + application_max + consent_after_application_gone` | [`PurgeReason::HardMaximum`] |
//! | audit event | always | `recorded_at + audit` | [`PurgeReason::AuditRetention`] |
//! | staff account | deactivated | `deactivated_at + audit` | [`PurgeReason::StaffAccountRetention`] |
//!
//! When two rules fall due at the same instant, the more specific one is
//! reported (the first in the table for that record).
//!
//! Audit events go as a prefix of the Merkle log that a signed checkpoint
//! covers (`doorstroom_store::retention::prune_audit`): one may go later
//! than its due moment (an earlier event not yet due, no checkpoint yet),
//! never earlier.
//!
//! # When an application has "ended"
//!
//! An application has ended when its status is one of the final outcomes
//! ([`ApplicationStatus::is_terminal`]: not enrolling, withdrawn, no-show)
//! **or enrolled** — see [`has_ended`]. The issue lists enrolled among the
//! end states, and for the broker it is one: enrolment is the last step for
//! which the mbo needs the dossier *from the broker*. The broker is a
//! transport, not an archive; the mbo keeps what it pulled in its own student
//! file for the start of the school year, and an mbo that enrolled a student
//! without pulling the package still has `package_after_application_end`
//! (30 days, shown in its inbox) to do so. An enrolment can still turn into
//! withdrawn or no-show (the after-summer check); the store then reports the
//! moment of that later status as `ended_at`, which restarts the
//! application's period — what the vo's aftercare wants — and is harmless
//! for the package, which the hard maximum bounds anyway.
//!
//! # Facts that do not fit together
//!
//! The store is trusted to supply consistent facts, but the rules stay safe
//! when it does not: an acknowledgement without a delivery, or an end status
//! without an end moment, fires no rule of its own (the hard maximum still
//! does); an end moment with a status that has not ended is ignored. Adding
//! a period to a moment that would overflow the calendar saturates at the
//! latest representable moment instead of panicking.
//!
//! Nothing here reads the clock.

use chrono::{DateTime, Duration, Utc};

use crate::dossier::ApplicationStatus;
use crate::ids::wire_enum;

wire_enum!(
    /// Why a record was deleted. The stable name is written into the audit
    /// event of every deletion, so that the log shows which rule removed what.
    PurgeReason, "purge_reason" {
        /// A package was delivered, acknowledged, and kept
        /// `package_after_acknowledged` after the acknowledgement.
        AcknowledgedDelivery => "acknowledged_delivery",
        /// The package's application ended (enrolled, not enrolling,
        /// withdrawn, no-show) `package_after_application_end` ago.
        ApplicationEnded => "application_ended",
        /// The record reached the longest time it may ever be kept, whatever
        /// else happened (`package_max` for packages, `application_max` for
        /// applications, and its derived bound for consent and inspection
        /// records).
        HardMaximum => "hard_maximum",
        /// An application ended `application_after_end` ago.
        ApplicationRetention => "application_retention",
        /// Consent and inspection records of a student at a school,
        /// `consent_after_application_gone` after the student's last
        /// application at that school was deleted.
        LedgerRetention => "ledger_retention",
        /// An audit event older than the audit period.
        AuditRetention => "audit_retention",
        /// An entry of an institution's event feed older than the events
        /// period.
        EventsRetention => "events_retention",
        /// A safety-net cohort past its period after the enrolment
        /// deadline of its school year.
        CohortRetention => "cohort_retention",
        /// A staff account deactivated longer ago than the audit period:
        /// every audit event of what it did is due by then.
        StaffAccountRetention => "staff_account_retention",
        /// A transparency link that expired or was revoked longer ago than
        /// the links period.
        LinkRetention => "link_retention",
        /// A privacy officer erased the student's data on request (GDPR
        /// art. 17). Not produced by the rules in this module.
        ErasureRequest => "erasure_request",
    }
);

/// The longest a package may ever be kept: one year (365 days, so never
/// more than a calendar year).
pub const PACKAGE_MAX_LIMIT: Duration = Duration::days(365);

/// The retention periods, as given (in configuration). They become a
/// [`RetentionPolicy`] only through [`RetentionPolicy::new`], which checks
/// them; the named fields keep eight periods from being passed in the
/// wrong order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetentionPeriods {
    /// How long a package is kept after the mbo acknowledged its delivery.
    pub package_after_acknowledged: Duration,
    /// How long a package is kept after its application ended.
    pub package_after_application_end: Duration,
    /// How long a package is kept at most after it was submitted; at most
    /// [`PACKAGE_MAX_LIMIT`].
    pub package_max: Duration,
    /// How long an application is kept after it ended.
    pub application_after_end: Duration,
    /// How long an application is kept at most after it was registered.
    pub application_max: Duration,
    /// How long consent and inspection records of a student at a school are
    /// kept after the student's last application there was deleted.
    pub consent_after_application_gone: Duration,
    /// How long an audit event is kept after it was recorded.
    pub audit: Duration,
    /// How long an entry of an institution's event feed (`GET /v1/events`:
    /// ids and times only) is kept after it was recorded.
    pub events: Duration,
    /// How long a transparency link (hashes, times, the student's
    /// pseudonym) is kept after it expired or was revoked.
    pub transparency_links: Duration,
}

impl Default for RetentionPeriods {
    /// The broker's defaults for the Dutch vo → mbo transfer, each chosen
    /// to keep data no longer than the purpose needs (GDPR art. 5(1)(e)):
    ///
    /// * **`package_after_acknowledged`: 30 days.** The dossier serves the
    ///   intake and the start at the mbo; once the mbo has pulled and
    ///   acknowledged the package it holds its own copy, and the broker's
    ///   ciphertext is only needed for a short while to pull again (a lost
    ///   download, a second intaker, a complaint about what was sent).
    /// * **`package_after_application_end`: 30 days.** When the application
    ///   ended (enrolled, not enrolling, withdrawn, no-show) the package has
    ///   no further use at the broker; the month gives an mbo that enrolled a
    ///   student without pulling the package a last, visible chance to do so,
    ///   and lets a mistaken status report be corrected.
    /// * **`package_max`: 365 days**, the limit the issue sets ("at most one
    ///   year"). It covers an application in the spring, the intake, and the
    ///   start in August/September with margin, even when no delivery or
    ///   status is ever reported.
    /// * **`application_after_end`: 365 days.** The mbo's status reports
    ///   (terugkoppeling) are what the vo school's aftercare (nazorg) works
    ///   from, and the guide has the vo follow a former student for at least a
    ///   year after leaving; the first mbo year is also when drop-out is
    ///   highest.
    /// * **`application_max`: 730 days (two years).** An application runs from
    ///   registration (before 1 April) through the school year after it; two
    ///   years bounds even a long-running one plus its aftercare.
    /// * **`consent_after_application_gone`: 30 days.** Consent and inspection
    ///   records prove the lawful basis of what was released (GDPR art. 7(1));
    ///   they are needed as long as something they cover is kept, and a month
    ///   more to answer a question about the last release.
    /// * **`audit`: 1827 days (five years, leap days included).** Audit events
    ///   hold pseudonyms only; they let a student, years later, learn who saw
    ///   the dossier (art. 15) and support a complaint or claim, for which
    ///   five years is the Dutch limitation period (BW art. 3:310).
    /// * **`events`: 90 days.** A feed entry only tells a school system that
    ///   something changed (ids and times); the system reads the record
    ///   itself. Ninety days let a system that was off for the whole summer
    ///   holiday (six weeks) catch up, and no longer: most records it points
    ///   to are gone by then.
    /// * **`transparency_links`: 30 days.** An ended link opens nothing; a
    ///   month lets the school answer "my link stopped working" with the
    ///   link's state, and no longer (its use stays in the audit log).
    fn default() -> Self {
        Self {
            package_after_acknowledged: Duration::days(30),
            package_after_application_end: Duration::days(30),
            package_max: PACKAGE_MAX_LIMIT,
            application_after_end: Duration::days(365),
            application_max: Duration::days(730),
            consent_after_application_gone: Duration::days(30),
            audit: Duration::days(5 * 365 + 2),
            events: Duration::days(90),
            transparency_links: Duration::days(30),
        }
    }
}

/// Why retention periods were refused. The message names the period and
/// the rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RetentionError {
    /// Every period must be longer than zero: a zero period would delete
    /// records the moment the rule applies, before anyone could use them.
    #[error("retention period {period} must be longer than zero")]
    NotPositive { period: &'static str },
    /// A package may be kept at most [`PACKAGE_MAX_LIMIT`] (one year).
    #[error("retention period package_max must be at most 365 days")]
    PackageMaxTooLong,
}

/// Checked retention periods. Only [`RetentionPolicy::new`] (and
/// [`Default`]) make one, so every period in it is positive and `package_max`
/// is at most a year.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetentionPolicy {
    periods: RetentionPeriods,
    /// The safety net's cohorts: kept until this long after their
    /// enrolment deadline.
    cohorts: crate::safety_net::CohortRetention,
}

impl Default for RetentionPolicy {
    /// The periods of [`RetentionPeriods::default`].
    fn default() -> Self {
        Self {
            periods: RetentionPeriods::default(),
            cohorts: crate::safety_net::CohortRetention::default(),
        }
    }
}

impl RetentionPolicy {
    /// Checks the periods: each must be longer than zero, and `package_max`
    /// at most [`PACKAGE_MAX_LIMIT`].
    pub fn new(periods: RetentionPeriods) -> Result<Self, RetentionError> {
        let named = [
            ("package_after_acknowledged", periods.package_after_acknowledged),
            ("package_after_application_end", periods.package_after_application_end),
            ("package_max", periods.package_max),
            ("application_after_end", periods.application_after_end),
            ("application_max", periods.application_max),
            ("consent_after_application_gone", periods.consent_after_application_gone),
            ("audit", periods.audit),
            ("events", periods.events),
            ("transparency_links", periods.transparency_links),
        ];
        if let Some((period, _)) = named.iter().find(|(_, d)| *d <= Duration::zero()) {
            return Err(RetentionError::NotPositive { period });
        }
        if periods.package_max > PACKAGE_MAX_LIMIT {
            return Err(RetentionError::PackageMaxTooLong);
        }
        Ok(Self {
            periods,
            cohorts: crate::safety_net::CohortRetention::default(),
        })
    }

    /// Feed entries recorded at or before this moment are due at `now`
    /// (recorded time + `events` ≤ now, as for audit events).
    pub fn events_due_until(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        now.checked_sub_signed(self.periods.events)
            .unwrap_or(DateTime::<Utc>::MIN_UTC)
    }

    /// Staff accounts deactivated at or before this moment are due at
    /// `now`. No period of their own: an account is kept as long as the
    /// audit events of what it did. It acts no more once deactivated, so
    /// every event it made as actor (or a system made on its behalf) was
    /// recorded at or before its deactivation and is due for pruning
    /// (recorded time + `audit`) by the time the account is; until then the
    /// student's page can still say which role saw the file. Events that
    /// others record about it later (a request refused for naming it, an
    /// admin's later change) keep their own period and then name an id that
    /// no longer resolves, as any pseudonym does. An active account is
    /// never due: its institution's admin deactivates it when its holder
    /// leaves.
    pub fn staff_accounts_due_until(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        now.checked_sub_signed(self.periods.audit)
            .unwrap_or(DateTime::<Utc>::MIN_UTC)
    }

    /// The same policy with the safety net's cohort retention.
    pub const fn with_cohorts(self, cohorts: crate::safety_net::CohortRetention) -> Self {
        Self { cohorts, ..self }
    }

    /// The cohort retention of this policy.
    pub const fn cohorts(&self) -> crate::safety_net::CohortRetention {
        self.cohorts
    }

    /// Transparency links that ended (expired or revoked) before this
    /// moment are due at `now`.
    pub fn links_due_before(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        now.checked_sub_signed(self.periods.transparency_links)
            .unwrap_or(DateTime::<Utc>::MIN_UTC)
    }

    /// The periods this policy was made from.
    pub const fn periods(&self) -> RetentionPeriods {
        self.periods
    }

    /// When the package must go: the earliest of its rules (see the
    /// [module documentation](self)); never later than
    /// `submitted_at + package_max`.
    pub fn package_due(&self, facts: &PackageFacts) -> DateTime<Utc> {
        earliest(&self.package_rules(facts)).0
    }

    /// Which rule removes the package at `now`, or `None` while it must
    /// still be kept (`now` before [`RetentionPolicy::package_due`]).
    pub fn package_purge_reason(&self, facts: &PackageFacts, now: DateTime<Utc>) -> Option<PurgeReason> {
        fired(&self.package_rules(facts), now)
    }

    /// When the application must go: a set time after it ended, and at the
    /// latest `created_at + application_max`.
    pub fn application_due(&self, facts: &ApplicationFacts) -> DateTime<Utc> {
        earliest(&self.application_rules(facts)).0
    }

    /// Which rule removes the application at `now`, or `None` while it must
    /// still be kept.
    pub fn application_purge_reason(&self, facts: &ApplicationFacts, now: DateTime<Utc>) -> Option<PurgeReason> {
        fired(&self.application_rules(facts), now)
    }

    /// When a student's consent and inspection records at one school must
    /// go: `consent_after_application_gone` after the student's last
    /// application there was deleted, and at the latest
    /// `recorded_at + application_max + consent_after_application_gone`.
    ///
    /// That bound is derived, not configured: without it, records of a
    /// student who never applied at the school (or whose application the
    /// store never reports gone) would be kept for ever. It is as long as the
    /// longest-lived application plus the grace period, counted from the
    /// latest event; every new event (a renewed consent, a new inspection)
    /// moves `recorded_at` and so the bound. If the bound ever fires while an
    /// application is still kept, releases that need consent fail closed
    /// (no consent recorded), never open.
    pub fn ledger_due(&self, facts: &LedgerFacts) -> DateTime<Utc> {
        earliest(&self.ledger_rules(facts)).0
    }

    /// Which rule removes the consent and inspection records at `now`, or
    /// `None` while they must still be kept.
    pub fn ledger_purge_reason(&self, facts: &LedgerFacts, now: DateTime<Utc>) -> Option<PurgeReason> {
        fired(&self.ledger_rules(facts), now)
    }

    /// When an audit event recorded at `recorded_at` must go.
    pub fn audit_due(&self, recorded_at: DateTime<Utc>) -> DateTime<Utc> {
        plus(recorded_at, self.periods.audit)
    }

    /// [`PurgeReason::AuditRetention`] from [`RetentionPolicy::audit_due`]
    /// on, `None` before.
    pub fn audit_purge_reason(&self, recorded_at: DateTime<Utc>, now: DateTime<Utc>) -> Option<PurgeReason> {
        fired(&[(self.audit_due(recorded_at), PurgeReason::AuditRetention)], now)
    }

    /// Each rule that applies to the package, most specific first, ending
    /// with the hard maximum (so the list is never empty).
    fn package_rules(&self, facts: &PackageFacts) -> Vec<(DateTime<Utc>, PurgeReason)> {
        let p = &self.periods;
        let mut rules = Vec::with_capacity(3);
        if let (Some(_), Some(acknowledged)) = (facts.delivered_at, facts.acknowledged_at) {
            rules.push((
                plus(acknowledged, p.package_after_acknowledged),
                PurgeReason::AcknowledgedDelivery,
            ));
        }
        if let Some(ended) = ended_at(facts.application_status, facts.application_ended_at) {
            rules.push((
                plus(ended, p.package_after_application_end),
                PurgeReason::ApplicationEnded,
            ));
        }
        rules.push((plus(facts.submitted_at, p.package_max), PurgeReason::HardMaximum));
        rules
    }

    fn application_rules(&self, facts: &ApplicationFacts) -> Vec<(DateTime<Utc>, PurgeReason)> {
        let p = &self.periods;
        let mut rules = Vec::with_capacity(2);
        if let Some(ended) = ended_at(facts.status, facts.ended_at) {
            rules.push((plus(ended, p.application_after_end), PurgeReason::ApplicationRetention));
        }
        rules.push((plus(facts.created_at, p.application_max), PurgeReason::HardMaximum));
        rules
    }

    fn ledger_rules(&self, facts: &LedgerFacts) -> Vec<(DateTime<Utc>, PurgeReason)> {
        let p = &self.periods;
        let mut rules = Vec::with_capacity(2);
        if let Some(gone) = facts.last_application_gone_at {
            rules.push((
                plus(gone, p.consent_after_application_gone),
                PurgeReason::LedgerRetention,
            ));
        }
        let bound = plus(
            plus(facts.recorded_at, p.application_max),
            p.consent_after_application_gone,
        );
        rules.push((bound, PurgeReason::HardMaximum));
        rules
    }
}

/// What the store knows about a package, for its retention.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PackageFacts {
    /// When the vo's system submitted the package.
    pub submitted_at: DateTime<Utc>,
    /// When the mbo first pulled it, if it did.
    pub delivered_at: Option<DateTime<Utc>>,
    /// When the mbo acknowledged receipt, if it did. Counts only together
    /// with `delivered_at`.
    pub acknowledged_at: Option<DateTime<Utc>>,
    /// The current status of the application the package was sent for.
    pub application_status: ApplicationStatus,
    /// When the application's current status was reported, if that status
    /// is an end ([`has_ended`]); ignored otherwise.
    pub application_ended_at: Option<DateTime<Utc>>,
}

/// What the store knows about an application, for its retention.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApplicationFacts {
    /// When the mbo registered the application.
    pub created_at: DateTime<Utc>,
    /// Its current status.
    pub status: ApplicationStatus,
    /// When the current status was reported, if it is an end
    /// ([`has_ended`]); ignored otherwise.
    pub ended_at: Option<DateTime<Utc>>,
}

/// What the store knows about a student's consent and inspection records at
/// one receiving school, for their retention.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LedgerFacts {
    /// When the student's last application at that school was deleted;
    /// `None` while one is still kept, or if there never was one.
    pub last_application_gone_at: Option<DateTime<Utc>>,
    /// When the latest of these records was recorded.
    pub recorded_at: DateTime<Utc>,
}

/// Whether an application with this status has ended, for retention: a final
/// outcome ([`ApplicationStatus::is_terminal`]) or enrolled. See the
/// [module documentation](self#when-an-application-has-ended) for why
/// enrolled counts.
pub const fn has_ended(status: ApplicationStatus) -> bool {
    status.is_terminal() || matches!(status, ApplicationStatus::Enrolled)
}

/// The end moment, when the status says the application ended.
fn ended_at(status: ApplicationStatus, at: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    at.filter(|_| has_ended(status))
}

/// `at + period`, saturating at the latest representable moment.
fn plus(at: DateTime<Utc>, period: Duration) -> DateTime<Utc> {
    at.checked_add_signed(period).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// The earliest rule; on a tie the first listed. `rules` is never empty (the
/// callers always end with an unconditional bound); were it empty, the
/// answer would be "never" (the latest representable moment).
fn earliest(rules: &[(DateTime<Utc>, PurgeReason)]) -> (DateTime<Utc>, PurgeReason) {
    rules
        .iter()
        .copied()
        .reduce(|best, next| if next.0 < best.0 { next } else { best })
        .unwrap_or((DateTime::<Utc>::MAX_UTC, PurgeReason::HardMaximum))
}

/// The reason of the earliest rule, if it is due at `now`.
fn fired(rules: &[(DateTime<Utc>, PurgeReason)], now: DateTime<Utc>) -> Option<PurgeReason> {
    let (due, reason) = earliest(rules);
    (now >= due).then_some(reason)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use proptest::prelude::*;

    use super::*;
    use ApplicationStatus::*;

    fn base() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2027, 3, 1, 9, 0, 0).single().unwrap_or_default()
    }

    fn day(n: i64) -> DateTime<Utc> {
        base() + Duration::days(n)
    }

    const MS: Duration = Duration::milliseconds(1);

    fn policy() -> RetentionPolicy {
        RetentionPolicy::default()
    }

    fn package() -> PackageFacts {
        PackageFacts {
            submitted_at: base(),
            delivered_at: None,
            acknowledged_at: None,
            application_status: Registered,
            application_ended_at: None,
        }
    }

    /// The rule fires exactly at `due` and not one millisecond before.
    fn assert_fires_at<F: Fn(DateTime<Utc>) -> Option<PurgeReason>>(
        reason_at: F,
        due: DateTime<Utc>,
        want: PurgeReason,
    ) {
        assert_eq!(reason_at(due - MS), None, "one ms before {due}");
        assert_eq!(reason_at(due), Some(want), "at {due}");
        assert_eq!(reason_at(due + Duration::days(400)), Some(want), "long after {due}");
    }

    #[test]
    fn a_deactivated_staff_account_is_due_with_the_last_event_it_made() {
        let p = policy();
        let deactivated = day(10);
        let due = deactivated + Duration::days(1827);
        let account_due = |now| deactivated <= p.staff_accounts_due_until(now);
        assert!(!account_due(due - MS), "one ms before {due}");
        assert!(account_due(due), "at {due}");
        // Its last event, recorded as it was deactivated, is due at the
        // same moment, never later than the account.
        assert_eq!(p.audit_purge_reason(deactivated, due - MS), None);
        assert_eq!(
            p.audit_purge_reason(deactivated, due),
            Some(PurgeReason::AuditRetention)
        );
        // Saturates instead of overflowing.
        assert_eq!(
            p.staff_accounts_due_until(DateTime::<Utc>::MIN_UTC),
            DateTime::<Utc>::MIN_UTC
        );
    }

    #[test]
    fn defaults_are_the_documented_ones_and_pass_the_checks() {
        let p = RetentionPeriods::default();
        assert_eq!(p.package_after_acknowledged, Duration::days(30));
        assert_eq!(p.package_after_application_end, Duration::days(30));
        assert_eq!(p.package_max, Duration::days(365));
        assert_eq!(p.application_after_end, Duration::days(365));
        assert_eq!(p.application_max, Duration::days(730));
        assert_eq!(p.consent_after_application_gone, Duration::days(30));
        assert_eq!(p.audit, Duration::days(1827));
        assert_eq!(p.events, Duration::days(90));
        assert_eq!(p.transparency_links, Duration::days(30));
        assert_eq!(RetentionPolicy::new(p), Ok(RetentionPolicy::default()));
        assert_eq!(RetentionPolicy::default().periods(), p);
    }

    #[test]
    fn new_refuses_a_package_max_over_a_year() {
        let ok = RetentionPeriods {
            package_max: Duration::days(365),
            ..RetentionPeriods::default()
        };
        assert!(RetentionPolicy::new(ok).is_ok());
        let too_long = RetentionPeriods {
            package_max: Duration::days(365) + MS,
            ..RetentionPeriods::default()
        };
        assert_eq!(RetentionPolicy::new(too_long), Err(RetentionError::PackageMaxTooLong));
    }

    #[test]
    fn new_refuses_zero_and_negative_periods_naming_the_period() {
        type Set = fn(&mut RetentionPeriods, Duration);
        let setters: [(&str, Set); 7] = [
            ("package_after_acknowledged", |p, d| p.package_after_acknowledged = d),
            ("package_after_application_end", |p, d| {
                p.package_after_application_end = d
            }),
            ("package_max", |p, d| p.package_max = d),
            ("application_after_end", |p, d| p.application_after_end = d),
            ("application_max", |p, d| p.application_max = d),
            ("consent_after_application_gone", |p, d| {
                p.consent_after_application_gone = d
            }),
            ("audit", |p, d| p.audit = d),
        ];
        for (name, set) in setters {
            for bad in [Duration::zero(), -MS, Duration::days(-30)] {
                let mut periods = RetentionPeriods::default();
                set(&mut periods, bad);
                assert_eq!(
                    RetentionPolicy::new(periods),
                    Err(RetentionError::NotPositive { period: name }),
                    "{name} = {bad}"
                );
            }
            let mut periods = RetentionPeriods::default();
            set(&mut periods, MS);
            assert!(RetentionPolicy::new(periods).is_ok(), "{name} = 1 ms");
        }
        let message = RetentionError::NotPositive { period: "audit" }.to_string();
        assert_eq!(message, "retention period audit must be longer than zero");
    }

    #[test]
    fn acknowledged_delivery_fires_30_days_after_the_acknowledgement() {
        let facts = PackageFacts {
            delivered_at: Some(day(10)),
            acknowledged_at: Some(day(11)),
            application_status: IntakeScheduled,
            ..package()
        };
        assert_eq!(policy().package_due(&facts), day(41));
        assert_fires_at(
            |now| policy().package_purge_reason(&facts, now),
            day(41),
            PurgeReason::AcknowledgedDelivery,
        );
    }

    #[test]
    fn an_acknowledgement_without_a_delivery_fires_nothing_of_its_own() {
        let facts = PackageFacts {
            acknowledged_at: Some(day(11)),
            ..package()
        };
        assert_eq!(policy().package_due(&facts), day(365));
        assert_eq!(policy().package_purge_reason(&facts, day(41)), None);
    }

    #[test]
    fn application_ended_fires_30_days_after_the_end_for_every_end_status() {
        for status in ApplicationStatus::ALL.iter().copied() {
            let facts = PackageFacts {
                application_status: status,
                application_ended_at: Some(day(100)),
                ..package()
            };
            if has_ended(status) {
                assert_eq!(policy().package_due(&facts), day(130), "{status}");
                assert_fires_at(
                    |now| policy().package_purge_reason(&facts, now),
                    day(130),
                    PurgeReason::ApplicationEnded,
                );
            } else {
                assert_eq!(policy().package_due(&facts), day(365), "{status}: end moment ignored");
            }
        }
    }

    #[test]
    fn enrolled_counts_as_ended_and_the_open_statuses_do_not() {
        let ended: Vec<_> = ApplicationStatus::ALL
            .iter()
            .copied()
            .filter(|s| has_ended(*s))
            .collect();
        assert_eq!(ended, vec![Enrolled, NotEnrolling, Withdrawn, NoShow]);
    }

    #[test]
    fn an_end_status_without_an_end_moment_falls_back_to_the_hard_maximum() {
        let facts = PackageFacts {
            application_status: Withdrawn,
            ..package()
        };
        assert_eq!(policy().package_due(&facts), day(365));
    }

    #[test]
    fn an_undelivered_package_still_goes_at_the_hard_maximum() {
        let facts = package();
        assert_eq!(policy().package_due(&facts), day(365));
        assert_fires_at(
            |now| policy().package_purge_reason(&facts, now),
            day(365),
            PurgeReason::HardMaximum,
        );
    }

    #[test]
    fn the_hard_maximum_wins_when_it_is_earlier() {
        let facts = PackageFacts {
            delivered_at: Some(day(300)),
            acknowledged_at: Some(day(350)),
            application_status: Enrolled,
            application_ended_at: Some(day(340)),
            ..package()
        };
        // 350 + 30 and 340 + 30 are both after 365.
        assert_eq!(policy().package_due(&facts), day(365));
        assert_fires_at(
            |now| policy().package_purge_reason(&facts, now),
            day(365),
            PurgeReason::HardMaximum,
        );
    }

    #[test]
    fn the_earliest_rule_decides_and_a_tie_goes_to_the_more_specific_rule() {
        let ended_first = PackageFacts {
            delivered_at: Some(day(20)),
            acknowledged_at: Some(day(20)),
            application_status: NotEnrolling,
            application_ended_at: Some(day(5)),
            ..package()
        };
        assert_eq!(policy().package_due(&ended_first), day(35));
        assert_eq!(
            policy().package_purge_reason(&ended_first, day(50)),
            Some(PurgeReason::ApplicationEnded)
        );
        let tie = PackageFacts {
            application_ended_at: Some(day(20)),
            ..ended_first
        };
        assert_eq!(
            policy().package_purge_reason(&tie, day(50)),
            Some(PurgeReason::AcknowledgedDelivery)
        );
        let all_at_once = PackageFacts {
            delivered_at: Some(day(335)),
            acknowledged_at: Some(day(335)),
            application_ended_at: Some(day(335)),
            ..ended_first
        };
        assert_eq!(
            policy().package_purge_reason(&all_at_once, day(365)),
            Some(PurgeReason::AcknowledgedDelivery)
        );
    }

    #[test]
    fn an_application_goes_a_year_after_it_ended() {
        let facts = ApplicationFacts {
            created_at: base(),
            status: Enrolled,
            ended_at: Some(day(160)),
        };
        assert_eq!(policy().application_due(&facts), day(525));
        assert_fires_at(
            |now| policy().application_purge_reason(&facts, now),
            day(525),
            PurgeReason::ApplicationRetention,
        );
    }

    #[test]
    fn an_application_goes_at_its_maximum_when_that_is_earlier_or_it_never_ends() {
        let late_end = ApplicationFacts {
            created_at: base(),
            status: Withdrawn,
            ended_at: Some(day(500)),
        };
        assert_eq!(policy().application_due(&late_end), day(730));
        assert_fires_at(
            |now| policy().application_purge_reason(&late_end, now),
            day(730),
            PurgeReason::HardMaximum,
        );
        let open = ApplicationFacts {
            created_at: base(),
            status: IntakeHeld,
            ended_at: Some(day(10)),
        };
        assert_eq!(
            policy().application_due(&open),
            day(730),
            "an open status ignores the end moment"
        );
        assert_fires_at(
            |now| policy().application_purge_reason(&open, now),
            day(730),
            PurgeReason::HardMaximum,
        );
    }

    #[test]
    fn consent_records_go_30_days_after_the_last_application_is_gone() {
        let facts = LedgerFacts {
            last_application_gone_at: Some(day(400)),
            recorded_at: base(),
        };
        assert_eq!(policy().ledger_due(&facts), day(430));
        assert_fires_at(
            |now| policy().ledger_purge_reason(&facts, now),
            day(430),
            PurgeReason::LedgerRetention,
        );
    }

    #[test]
    fn consent_records_without_a_gone_application_are_still_bounded() {
        let facts = LedgerFacts {
            last_application_gone_at: None,
            recorded_at: day(10),
        };
        assert_eq!(policy().ledger_due(&facts), day(10 + 730 + 30));
        assert_fires_at(
            |now| policy().ledger_purge_reason(&facts, now),
            day(770),
            PurgeReason::HardMaximum,
        );
    }

    #[test]
    fn audit_events_go_after_five_years() {
        // 2027-03-01 to 2032-03-01 is 1827 days: two leap days (2028, 2032).
        let due = Utc.with_ymd_and_hms(2032, 3, 1, 9, 0, 0).single().unwrap_or_default();
        assert_eq!(policy().audit_due(base()), due);
        assert_fires_at(
            |now| policy().audit_purge_reason(base(), now),
            due,
            PurgeReason::AuditRetention,
        );
    }

    #[test]
    fn due_moments_saturate_instead_of_overflowing() {
        let end_of_time = DateTime::<Utc>::MAX_UTC;
        assert_eq!(policy().audit_due(end_of_time), end_of_time);
        let facts = PackageFacts {
            submitted_at: end_of_time,
            ..package()
        };
        assert_eq!(policy().package_due(&facts), end_of_time);
        assert_eq!(
            policy().package_purge_reason(&facts, end_of_time),
            Some(PurgeReason::HardMaximum)
        );
    }

    #[test]
    fn feed_entries_are_due_after_the_events_period_and_saturate() {
        let p = policy();
        let now = Utc.with_ymd_and_hms(2027, 6, 1, 0, 0, 0).single().unwrap_or_default();
        assert_eq!(p.events_due_until(now), now - p.periods().events);
        assert_eq!(p.events_due_until(DateTime::<Utc>::MIN_UTC), DateTime::<Utc>::MIN_UTC);
    }

    #[test]
    fn purge_reasons_have_stable_wire_names() {
        let names: Vec<_> = PurgeReason::ALL.iter().map(|r| r.as_str()).collect();
        assert_eq!(
            names,
            vec![
                "acknowledged_delivery",
                "application_ended",
                "hard_maximum",
                "application_retention",
                "ledger_retention",
                "audit_retention",
                "events_retention",
                "cohort_retention",
                "staff_account_retention",
                "link_retention",
                "erasure_request",
            ]
        );
        for reason in PurgeReason::ALL.iter().copied() {
            assert_eq!(PurgeReason::parse(reason.as_str()), Ok(reason));
            assert_eq!(
                serde_json::to_value(reason).ok(),
                Some(serde_json::Value::String(reason.as_str().to_owned()))
            );
        }
        assert!(PurgeReason::parse("expired").is_err());
    }

    /// A moment within about ten years of `base()`, to the millisecond.
    fn moment() -> impl Strategy<Value = DateTime<Utc>> {
        (-2_000_000_000i64..200_000_000_000).prop_map(|ms| base() + Duration::milliseconds(ms))
    }

    fn period(max_days: i64) -> impl Strategy<Value = Duration> {
        (1i64..=max_days * 86_400_000).prop_map(Duration::milliseconds)
    }

    fn any_policy() -> impl Strategy<Value = RetentionPolicy> {
        (
            period(800),
            period(800),
            period(365),
            period(800),
            period(1000),
            period(100),
            period(2000),
        )
            .prop_filter_map("valid periods", |(a, b, c, d, e, f, g)| {
                RetentionPolicy::new(RetentionPeriods {
                    package_after_acknowledged: a,
                    package_after_application_end: b,
                    package_max: c,
                    application_after_end: d,
                    application_max: e,
                    consent_after_application_gone: f,
                    audit: g,
                    events: Duration::days(90),
                    transparency_links: Duration::days(30),
                })
                .ok()
            })
    }

    fn any_package() -> impl Strategy<Value = PackageFacts> {
        (
            moment(),
            proptest::option::of(moment()),
            proptest::option::of(moment()),
            proptest::sample::select(ApplicationStatus::ALL),
            proptest::option::of(moment()),
        )
            .prop_map(
                |(submitted_at, delivered_at, acknowledged_at, application_status, application_ended_at)| {
                    PackageFacts {
                        submitted_at,
                        delivered_at,
                        acknowledged_at,
                        application_status,
                        application_ended_at,
                    }
                },
            )
    }

    proptest! {
        #[test]
        fn a_package_is_never_kept_past_its_hard_maximum(policy in any_policy(), facts in any_package()) {
            let due = policy.package_due(&facts);
            prop_assert!(due <= facts.submitted_at + policy.periods().package_max);
            prop_assert!(due <= facts.submitted_at + PACKAGE_MAX_LIMIT);
        }

        #[test]
        fn a_package_has_a_reason_exactly_from_its_due_moment(
            policy in any_policy(),
            facts in any_package(),
            now in moment(),
        ) {
            let due = policy.package_due(&facts);
            prop_assert_eq!(policy.package_purge_reason(&facts, now).is_some(), now >= due);
            prop_assert_eq!(policy.package_purge_reason(&facts, due - MS), None);
            prop_assert!(policy.package_purge_reason(&facts, due).is_some());
        }

        #[test]
        fn applications_and_ledgers_have_a_reason_exactly_from_their_due_moment(
            policy in any_policy(),
            created_at in moment(),
            status in proptest::sample::select(ApplicationStatus::ALL),
            ended_at in proptest::option::of(moment()),
            gone in proptest::option::of(moment()),
            now in moment(),
        ) {
            let application = ApplicationFacts { created_at, status, ended_at };
            let due = policy.application_due(&application);
            prop_assert!(due <= created_at + policy.periods().application_max);
            prop_assert_eq!(policy.application_purge_reason(&application, now).is_some(), now >= due);
            let ledger = LedgerFacts { last_application_gone_at: gone, recorded_at: created_at };
            let due = policy.ledger_due(&ledger);
            prop_assert_eq!(policy.ledger_purge_reason(&ledger, now).is_some(), now >= due);
        }
    }
}
