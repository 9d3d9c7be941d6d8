//! The consent ledger: who agreed to which section going to which mbo, and
//! whether that consent is in force at a given moment.
//!
//! Consent is recorded as append-only events — given, withdrawn, expired —
//! per student × receiving institution × section, for one purpose,
//! [`CONSENT_PURPOSE`]. The current state is *derived* from the events
//! ([`ConsentLedger`]), never stored beside them, so the broker can always
//! show how it reached a decision (GDPR art. 7(1): the controller must be
//! able to demonstrate consent).
//!
//! # Whose ledger
//!
//! Every event belongs to the sending school that recorded it, and a
//! [`ConsentLedger`] holds the events of **one owner** (one school) for one
//! student: the consent in force for a package is derived only from its
//! sender's events, so one school's consent never lets another school's
//! package through, and one school's withdrawal never touches another's
//! package. Two schools that both send for a student (after a change of
//! school) each keep their own ledger. Who may record in or read which
//! ledger is [`crate::authorize`]'s decision (see its module
//! documentation, "The consent and inspection ledger").
//!
//! # Who gives consent: the age rule
//!
//! [`check_consent_giver`] applies GDPR art. 8 as the Netherlands applies it
//! (UAVG art. 5): from 16 the student decides alone; under 16 a parent or
//! guardian (the holder of parental responsibility) gives or withdraws
//! consent instead. The broker receives the date of birth only to check the
//! rule, and keeps only the outcome, [`UnderSixteen`].
//!
//! * **Age** is counted in whole years on the day of the event. Someone born
//!   on 29 February turns a year older on **1 March** in a year without
//!   29 February (the birthday has not passed on 28 February; it has on
//!   1 March). This is what counting "has the birthday (month, day) been
//!   reached" gives, and it never makes anyone older early.
//! * **The day** is a calendar date passed in by the caller: the day of the
//!   event in the Netherlands (Europe/Amsterdam), not the UTC date.
//! * **Plausibility**: the mbo intake population is between
//!   [`MIN_PLAUSIBLE_AGE`] (10) and [`MAX_PLAUSIBLE_AGE`] (30) years old,
//!   both inclusive, on that day; anything outside is refused as a probable
//!   typing error (a date of birth equal to the day of the event, a year
//!   swapped with the current one, …) rather than silently accepted as
//!   "16 or older".
//!
//! Error messages name the rule, never the date of birth.
//!
//! # How the state is derived
//!
//! For one (recipient, section), the events at or before the probe time are
//! taken in time order (events with the same time in the order they were
//! appended), and the **last** one decides:
//!
//! | last event                         | state                                    |
//! |------------------------------------|------------------------------------------|
//! | none                               | [`ConsentStatus::NeverGiven`]            |
//! | `given`, no `valid_until`          | [`ConsentStatus::InForce`] without end   |
//! | `given`, `valid_until` after probe | [`ConsentStatus::InForce`] until then    |
//! | `given`, `valid_until` ≤ probe     | [`ConsentStatus::Expired`] at `valid_until` |
//! | `withdrawn`                        | [`ConsentStatus::Withdrawn`]             |
//! | `expired`                          | [`ConsentStatus::Expired`]               |
//!
//! So a validity period is half-open, `[at, valid_until)`; a new `given`
//! after a withdrawal or expiry puts consent in force again, and a `given`
//! while consent is in force renews it on the new terms (its `since` and
//! `until` are the new event's).

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::dossier::Section;
use crate::ids::{Brin, Sector, wire_enum};
use crate::lawful::{ConsentState, LawfulBasis};

/// The one purpose for which consent is asked and recorded: that the
/// receiving mbo uses the consent-based sections for the student's intake
/// and for the support it gives the student.
///
/// It is the only purpose for now; consent is specific to a purpose (GDPR
/// art. 6(1)(a) and purpose limitation, art. 5(1)(b)), so a future purpose
/// needs consent of its own and cannot reuse events recorded for this one.
/// Consent receipts and the register of processing activities carry this
/// exact text.
pub const CONSENT_PURPOSE: &str = "intake and support at the mbo";

/// From this age (in whole years, on the day of the event) the student gives
/// or withdraws consent; below it a parent or guardian does (UAVG art. 5).
pub const AGE_OF_CONSENT: i32 = 16;

/// The youngest plausible age of a student at mbo intake.
pub const MIN_PLAUSIBLE_AGE: i32 = 10;

/// The oldest plausible age of a student at mbo intake.
pub const MAX_PLAUSIBLE_AGE: i32 = 30;

wire_enum!(
    /// What a consent event records.
    ConsentEventKind, "consent_event" {
        /// Consent was given (or renewed).
        Given => "given",
        /// Consent was withdrawn (GDPR art. 7(3)); effective at once.
        Withdrawn => "withdrawn",
        /// Consent ended because its validity ran out.
        Expired => "expired",
    }
);

wire_enum!(
    /// Who gave or withdrew consent.
    GivenBy, "given_by" {
        /// The student, 16 or older on that day.
        Student => "student",
        /// A parent with parental responsibility, for a student under 16.
        Parent => "parent",
        /// A guardian (voogd), for a student under 16.
        Guardian => "guardian",
    }
);

wire_enum!(
    /// How consent was given or withdrawn.
    ConsentMethod, "method" {
        /// A signed paper form, kept by the school.
        PaperForm => "paper_form",
        /// In person, recorded by the school.
        InPerson => "in_person",
        /// Through a digital channel (e.g. the school's portal).
        Digital => "digital",
    }
);

/// Whether the student was under 16 on the day of the event: the only thing
/// the broker keeps of the date of birth.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UnderSixteen(pub bool);

/// Why a consent event is refused. The text names the rule and is safe to
/// return to the caller (as a 422) and to put in the audit log: it never
/// contains a date of birth.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ConsentRuleError {
    /// The date of birth lies after the day of the event.
    #[error("the date of birth must not lie after the day of the consent event")]
    DateOfBirthInFuture,
    /// The age on the day of the event is outside the mbo intake population.
    #[error(
        "the date of birth is implausible: the student must be between 10 and 30 years old on the day of the consent event"
    )]
    ImplausibleDateOfBirth,
    /// The student is under 16: a parent or guardian must act.
    #[error("a student under 16 cannot give or withdraw consent; a parent or guardian must (UAVG art. 5)")]
    StudentUnderSixteen,
    /// The student is 16 or older and decides alone.
    #[error(
        "a student of 16 or older gives or withdraws consent personally; a parent or guardian cannot (UAVG art. 5)"
    )]
    StudentDecides,
    /// The section does not travel on consent, so there is no consent to
    /// give or withdraw.
    #[error("section {0} does not travel on consent, so consent cannot be recorded for it")]
    SectionNeedsNoConsent(Section),
    /// A validity end at or before the moment consent is given.
    #[error("valid_until must lie after the moment consent is given")]
    ValidUntilNotAfterGiven,
    /// Consent is asked only for a transfer to an mbo.
    #[error("consent can only be recorded for a receiving institution in the mbo sector")]
    RecipientNotMbo,
}

/// Whole years from `date_of_birth` to `on` (negative if born after `on`).
/// The birthday counts as reached when `on`'s (month, day) is at or after the
/// date of birth's, so a 29 February birthday is reached on 1 March in a
/// year without 29 February.
fn age_on(date_of_birth: NaiveDate, on: NaiveDate) -> i32 {
    let years = on.year() - date_of_birth.year();
    if (on.month(), on.day()) < (date_of_birth.month(), date_of_birth.day()) {
        years - 1
    } else {
        years
    }
}

/// Checks that `given_by` may give or withdraw consent for a student born on
/// `date_of_birth`, on the day `on` (the event's day in the Netherlands),
/// and returns whether the student is under 16 — the one fact the broker
/// keeps. See the [module documentation](self) for the rules.
pub fn check_consent_giver(
    date_of_birth: NaiveDate,
    on: NaiveDate,
    given_by: GivenBy,
) -> Result<UnderSixteen, ConsentRuleError> {
    if date_of_birth > on {
        return Err(ConsentRuleError::DateOfBirthInFuture);
    }
    let age = age_on(date_of_birth, on);
    if !(MIN_PLAUSIBLE_AGE..=MAX_PLAUSIBLE_AGE).contains(&age) {
        return Err(ConsentRuleError::ImplausibleDateOfBirth);
    }
    let under_sixteen = age < AGE_OF_CONSENT;
    match (under_sixteen, given_by) {
        (true, GivenBy::Student) => Err(ConsentRuleError::StudentUnderSixteen),
        (false, GivenBy::Parent | GivenBy::Guardian) => Err(ConsentRuleError::StudentDecides),
        _ => Ok(UnderSixteen(under_sixteen)),
    }
}

/// Checks that consent may be recorded for a recipient of this sector: only
/// an mbo receives a dossier.
pub fn check_consent_recipient(sector: Sector) -> Result<(), ConsentRuleError> {
    if sector.is_receiving() {
        Ok(())
    } else {
        Err(ConsentRuleError::RecipientNotMbo)
    }
}

/// One consent event, with only what the derivation of the state needs (the
/// store keeps more: who, how, evidence, notice version, receipt). All
/// events of a [`ConsentLedger`] concern one student.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentEvent {
    pub kind: ConsentEventKind,
    /// The receiving institution (an mbo).
    pub recipient: Brin,
    pub section: Section,
    /// When the event took effect.
    pub at: DateTime<Utc>,
    /// For `given`: the end of validity (exclusive), if any. Ignored for the
    /// other kinds.
    pub valid_until: Option<DateTime<Utc>>,
}

impl ConsentEvent {
    /// A new `given` event, checked: the section must travel on consent and
    /// `valid_until`, if any, must lie after `at`.
    pub fn given(
        recipient: Brin,
        section: Section,
        at: DateTime<Utc>,
        valid_until: Option<DateTime<Utc>>,
    ) -> Result<Self, ConsentRuleError> {
        let event = Self {
            kind: ConsentEventKind::Given,
            recipient,
            section,
            at,
            valid_until,
        };
        event.validate()?;
        Ok(event)
    }

    /// A new `withdrawn` event, checked: the section must travel on consent.
    /// Whether there is anything to withdraw is
    /// [`ConsentLedger::can_withdraw`]'s question.
    pub fn withdrawn(recipient: Brin, section: Section, at: DateTime<Utc>) -> Result<Self, ConsentRuleError> {
        let event = Self {
            kind: ConsentEventKind::Withdrawn,
            recipient,
            section,
            at,
            valid_until: None,
        };
        event.validate()?;
        Ok(event)
    }

    /// A new `expired` event, checked: the section must travel on consent.
    pub fn expired(recipient: Brin, section: Section, at: DateTime<Utc>) -> Result<Self, ConsentRuleError> {
        let event = Self {
            kind: ConsentEventKind::Expired,
            recipient,
            section,
            at,
            valid_until: None,
        };
        event.validate()?;
        Ok(event)
    }

    /// The rules for a new event: its section must travel on consent
    /// ([`Section::default_basis`], [`LawfulBasis::needs_consent`]), and a `given` event's `valid_until`
    /// must lie after its `at`. (The age rule, [`check_consent_giver`], and
    /// the recipient rule, [`check_consent_recipient`], need facts the event
    /// does not carry.)
    pub fn validate(&self) -> Result<(), ConsentRuleError> {
        self.validate_with_basis(self.section.default_basis())
    }

    /// [`ConsentEvent::validate`], for a section whose basis is configured
    /// (per region) as `basis` rather than its default: the basis must
    /// need consent.
    pub fn validate_with_basis(&self, basis: LawfulBasis) -> Result<(), ConsentRuleError> {
        if !basis.needs_consent() {
            return Err(ConsentRuleError::SectionNeedsNoConsent(self.section));
        }
        match (self.kind, self.valid_until) {
            (ConsentEventKind::Given, Some(until)) if until <= self.at => {
                Err(ConsentRuleError::ValidUntilNotAfterGiven)
            }
            _ => Ok(()),
        }
    }
}

/// The state of consent for one student, recipient and section at one
/// moment, derived from the events (see the [module table](self)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum ConsentStatus {
    /// No event yet.
    NeverGiven,
    /// Given at `since`, valid until `until` (exclusive) if set.
    InForce {
        since: DateTime<Utc>,
        until: Option<DateTime<Utc>>,
    },
    /// Withdrawn at `at`.
    Withdrawn { at: DateTime<Utc> },
    /// Ended at `at`: by an `expired` event, or because the validity of the
    /// last `given` ran out then.
    Expired { at: DateTime<Utc> },
}

impl ConsentStatus {
    /// Whether consent is in force.
    pub const fn is_in_force(&self) -> bool {
        matches!(self, ConsentStatus::InForce { .. })
    }
}

/// What a request to withdraw consent should do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WithdrawOutcome {
    /// Record a `withdrawn` event (and delete the section's undelivered
    /// ciphertexts). Also the answer when consent has expired: the
    /// withdrawal is then put on record, and nothing undelivered lingers
    /// until the retention schedule.
    Withdraw,
    /// The last event is already a withdrawal: nothing to record, answer as
    /// if it succeeded (withdrawing is idempotent).
    AlreadyWithdrawn,
    /// There is no consent to withdraw: answer "not found" (404).
    NeverGiven,
}

/// The part of an event the derivation keeps, per (recipient, section).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Entry {
    kind: ConsentEventKind,
    at: DateTime<Utc>,
    valid_until: Option<DateTime<Utc>>,
}

impl Entry {
    /// The state when this is the last event at or before `probe` (`probe` ≥ `self.at`).
    fn status(&self, probe: DateTime<Utc>) -> ConsentStatus {
        match self.kind {
            ConsentEventKind::Given => match self.valid_until {
                Some(until) if until <= probe => ConsentStatus::Expired { at: until },
                until => ConsentStatus::InForce { since: self.at, until },
            },
            ConsentEventKind::Withdrawn => ConsentStatus::Withdrawn { at: self.at },
            ConsentEventKind::Expired => ConsentStatus::Expired { at: self.at },
        }
    }
}

/// The consent events of **one** student recorded by **one** school (see
/// "Whose ledger" in the [module documentation](self)), from which the
/// state of each (recipient, section) at any moment is derived. Build it afresh from the
/// stored events for each decision; it holds no state of its own.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConsentLedger {
    /// Per (recipient, section): the events in time order, ties in append order.
    events: BTreeMap<(Brin, Section), Vec<Entry>>,
}

impl ConsentLedger {
    /// The ledger of one student's events, given in append order. They are
    /// ordered by `at`; events with the same `at` keep their append order,
    /// so the later appended one decides.
    pub fn from_events(events: impl IntoIterator<Item = ConsentEvent>) -> Self {
        let mut map: BTreeMap<(Brin, Section), Vec<Entry>> = BTreeMap::new();
        for event in events {
            map.entry((event.recipient, event.section)).or_default().push(Entry {
                kind: event.kind,
                at: event.at,
                valid_until: event.valid_until,
            });
        }
        for entries in map.values_mut() {
            // Stable: equal times keep their append order.
            entries.sort_by_key(|e| e.at);
        }
        Self { events: map }
    }

    /// The state of consent for `section` going to `recipient`, at `at`:
    /// decided by the last event at or before `at`.
    pub fn state(&self, recipient: &Brin, section: Section, at: DateTime<Utc>) -> ConsentStatus {
        let Some(entries) = self.events.get(&(recipient.clone(), section)) else {
            return ConsentStatus::NeverGiven;
        };
        let upto = entries.partition_point(|e| e.at <= at);
        match upto.checked_sub(1).and_then(|i| entries.get(i)) {
            Some(last) => last.status(at),
            None => ConsentStatus::NeverGiven,
        }
    }

    /// Whether consent for `section` going to `recipient` is in force at `at`.
    pub fn in_force(&self, recipient: &Brin, section: Section, at: DateTime<Utc>) -> bool {
        self.state(recipient, section, at).is_in_force()
    }

    /// The consent state for one recipient at one moment, as the
    /// [`ConsentState`] that [`crate::section_allowed`] asks.
    pub fn for_recipient<'a>(&'a self, recipient: &'a Brin, at: DateTime<Utc>) -> RecipientConsent<'a> {
        RecipientConsent {
            ledger: self,
            recipient,
            at,
        }
    }

    /// What a request, at `at`, to withdraw consent for `section` going to
    /// `recipient` should do. Consent that is in force or has expired is
    /// withdrawn; a withdrawal is idempotent; consent never given is not found.
    pub fn can_withdraw(&self, recipient: &Brin, section: Section, at: DateTime<Utc>) -> WithdrawOutcome {
        match self.state(recipient, section, at) {
            ConsentStatus::NeverGiven => WithdrawOutcome::NeverGiven,
            ConsentStatus::Withdrawn { .. } => WithdrawOutcome::AlreadyWithdrawn,
            ConsentStatus::InForce { .. } | ConsentStatus::Expired { .. } => WithdrawOutcome::Withdraw,
        }
    }
}

/// A [`ConsentLedger`] seen for one recipient at one moment: the
/// [`ConsentState`] for the release of a package to that recipient.
#[derive(Debug, Clone, Copy)]
pub struct RecipientConsent<'a> {
    ledger: &'a ConsentLedger,
    recipient: &'a Brin,
    at: DateTime<Utc>,
}

impl ConsentState for RecipientConsent<'_> {
    fn in_force(&self, section: Section) -> bool {
        self.ledger.in_force(self.recipient, section, self.at)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use chrono::{Duration, TimeZone};
    use proptest::prelude::*;

    use super::*;
    use crate::lawful::{SectionRefusal, section_allowed};

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
    }

    fn base() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2027, 2, 1, 9, 0, 0).single().unwrap_or_default()
    }

    /// `base()` plus `minutes`.
    fn t(minutes: i64) -> DateTime<Utc> {
        base() + Duration::minutes(minutes)
    }

    fn brin(raw: &str) -> Brin {
        Brin::parse(raw).unwrap_or_else(|_| unreachable!("test BRIN"))
    }

    fn event(kind: ConsentEventKind, recipient: &Brin, section: Section, at: i64, until: Option<i64>) -> ConsentEvent {
        ConsentEvent {
            kind,
            recipient: recipient.clone(),
            section,
            at: t(at),
            valid_until: until.map(t),
        }
    }

    use ConsentEventKind::{Expired, Given, Withdrawn};

    // ---- the age rule ----

    #[test]
    fn sixteen_exactly_decides_alone() {
        let on = day(2027, 3, 15);
        let born = day(2011, 3, 15);
        assert_eq!(check_consent_giver(born, on, GivenBy::Student), Ok(UnderSixteen(false)));
        assert_eq!(
            check_consent_giver(born, on, GivenBy::Parent),
            Err(ConsentRuleError::StudentDecides)
        );
        assert_eq!(
            check_consent_giver(born, on, GivenBy::Guardian),
            Err(ConsentRuleError::StudentDecides)
        );
    }

    #[test]
    fn fifteen_years_and_364_days_is_under_sixteen() {
        // Born 16 March 2011: on 15 March 2027 one day short of 16.
        let on = day(2027, 3, 15);
        let born = day(2011, 3, 16);
        assert_eq!(
            check_consent_giver(born, on, GivenBy::Student),
            Err(ConsentRuleError::StudentUnderSixteen)
        );
        assert_eq!(check_consent_giver(born, on, GivenBy::Parent), Ok(UnderSixteen(true)));
        assert_eq!(check_consent_giver(born, on, GivenBy::Guardian), Ok(UnderSixteen(true)));
        // The next day the student decides.
        assert_eq!(
            check_consent_giver(born, day(2027, 3, 16), GivenBy::Student),
            Ok(UnderSixteen(false))
        );
    }

    #[test]
    fn born_on_29_february_turns_older_on_1_march_in_common_years() {
        let born = day(2008, 2, 29);
        // 2024 is a leap year: 16 on 29 February 2024.
        assert_eq!(age_on(born, day(2024, 2, 28)), 15);
        assert_eq!(age_on(born, day(2024, 2, 29)), 16);
        // 2025 is not: 17 on 1 March, not on 28 February.
        assert_eq!(age_on(born, day(2025, 2, 28)), 16);
        assert_eq!(age_on(born, day(2025, 3, 1)), 17);
        // The rule itself. A 16th birthday on 29 February falls in a common
        // year only across a century: born 29 February 2084, 16 in 2100.
        let born = day(2084, 2, 29);
        assert_eq!(
            check_consent_giver(born, day(2100, 2, 28), GivenBy::Student),
            Err(ConsentRuleError::StudentUnderSixteen)
        );
        assert_eq!(
            check_consent_giver(born, day(2100, 2, 28), GivenBy::Parent),
            Ok(UnderSixteen(true))
        );
        assert_eq!(
            check_consent_giver(born, day(2100, 3, 1), GivenBy::Parent),
            Err(ConsentRuleError::StudentDecides)
        );
        assert_eq!(
            check_consent_giver(born, day(2100, 3, 1), GivenBy::Student),
            Ok(UnderSixteen(false))
        );
    }

    #[test]
    fn a_date_of_birth_in_the_future_is_refused() {
        let on = day(2027, 3, 15);
        for by in GivenBy::ALL.iter().copied() {
            assert_eq!(
                check_consent_giver(day(2027, 3, 16), on, by),
                Err(ConsentRuleError::DateOfBirthInFuture)
            );
            assert_eq!(
                check_consent_giver(day(2040, 1, 1), on, by),
                Err(ConsentRuleError::DateOfBirthInFuture)
            );
        }
    }

    #[test]
    fn an_implausible_date_of_birth_is_refused() {
        let on = day(2027, 3, 15);
        for (born, plausible) in [
            (day(2027, 3, 15), false), // born today
            (day(2017, 3, 16), false), // 9 years 364 days
            (day(2017, 3, 15), true),  // 10 exactly
            (day(1996, 3, 15), false), // 31 exactly
            (day(1996, 3, 16), true),  // 30 years 364 days
            (day(1900, 1, 1), false),
        ] {
            let age = age_on(born, on);
            let result = check_consent_giver(born, on, if age < 16 { GivenBy::Parent } else { GivenBy::Student });
            assert_eq!(result.is_ok(), plausible, "age {age}");
            if !plausible {
                assert_eq!(result, Err(ConsentRuleError::ImplausibleDateOfBirth), "age {age}");
            }
        }
        assert_eq!(age_on(day(1996, 3, 15), on), 31);
        assert_eq!(age_on(day(1996, 3, 16), on), 30);
    }

    #[test]
    fn messages_name_the_rule_not_the_date() {
        let on = day(2027, 3, 15);
        let cases = [
            (day(2028, 1, 2), GivenBy::Student),
            (day(1950, 1, 2), GivenBy::Student),
            (day(2013, 1, 2), GivenBy::Student),
            (day(2009, 1, 2), GivenBy::Parent),
        ];
        for (born, by) in cases {
            let msg = check_consent_giver(born, on, by)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(!msg.is_empty());
            for needle in ["2028", "1950", "2013", "2009", "01-02", "-01-"] {
                assert!(!msg.contains(needle), "{msg}");
            }
        }
        assert_eq!(
            ConsentRuleError::StudentUnderSixteen.to_string(),
            "a student under 16 cannot give or withdraw consent; a parent or guardian must (UAVG art. 5)"
        );
    }

    // ---- events and their rules ----

    #[test]
    fn wire_enums() {
        assert_eq!(ConsentEventKind::ALL.len(), 3);
        assert_eq!(ConsentEventKind::parse("withdrawn"), Ok(Withdrawn));
        assert_eq!(GivenBy::parse("guardian"), Ok(GivenBy::Guardian));
        assert_eq!(ConsentMethod::parse("paper_form"), Ok(ConsentMethod::PaperForm));
        assert_eq!(
            serde_json::to_string(&ConsentMethod::InPerson).ok().as_deref(),
            Some("\"in_person\"")
        );
        assert!(GivenBy::parse("teacher").is_err());
        assert_eq!(CONSENT_PURPOSE, "intake and support at the mbo");
    }

    #[test]
    fn consent_only_for_sections_that_need_it() {
        let mbo = brin("25LX");
        for section in Section::ALL.iter().copied() {
            let needs = section.default_basis().needs_consent();
            let given = ConsentEvent::given(mbo.clone(), section, t(0), None);
            let withdrawn = ConsentEvent::withdrawn(mbo.clone(), section, t(0));
            let expired = ConsentEvent::expired(mbo.clone(), section, t(0));
            for result in [given.map(|_| ()), withdrawn.map(|_| ()), expired.map(|_| ())] {
                if needs {
                    assert_eq!(result, Ok(()), "{section}");
                } else {
                    assert_eq!(
                        result,
                        Err(ConsentRuleError::SectionNeedsNoConsent(section)),
                        "{section}"
                    );
                }
            }
        }
        assert_eq!(
            ConsentRuleError::SectionNeedsNoConsent(Section::PersonalData).to_string(),
            "section personal_data does not travel on consent, so consent cannot be recorded for it"
        );
    }

    #[test]
    fn valid_until_must_lie_after_the_given_moment() {
        let mbo = brin("25LX");
        let s = Section::SupportNeeds;
        assert!(ConsentEvent::given(mbo.clone(), s, t(0), Some(t(1))).is_ok());
        for until in [0, -1] {
            assert_eq!(
                ConsentEvent::given(mbo.clone(), s, t(0), Some(t(until))),
                Err(ConsentRuleError::ValidUntilNotAfterGiven)
            );
        }
    }

    #[test]
    fn only_an_mbo_receives_consent() {
        assert_eq!(check_consent_recipient(Sector::Mbo), Ok(()));
        for sector in [Sector::Vo, Sector::Vso, Sector::Pro] {
            assert_eq!(check_consent_recipient(sector), Err(ConsentRuleError::RecipientNotMbo));
        }
    }

    // ---- the ledger ----

    #[test]
    fn an_empty_ledger_has_nothing_in_force() {
        let ledger = ConsentLedger::from_events([]);
        let mbo = brin("25LX");
        assert_eq!(
            ledger.state(&mbo, Section::SupportNeeds, t(0)),
            ConsentStatus::NeverGiven
        );
        assert_eq!(
            ledger.can_withdraw(&mbo, Section::SupportNeeds, t(0)),
            WithdrawOutcome::NeverGiven
        );
    }

    #[test]
    fn given_withdrawn_given_again() {
        let mbo = brin("25LX");
        let s = Section::CareerPortfolio;
        let ledger = ConsentLedger::from_events([
            event(Given, &mbo, s, 10, None),
            event(Withdrawn, &mbo, s, 20, None),
            event(Given, &mbo, s, 30, Some(100)),
        ]);
        assert_eq!(ledger.state(&mbo, s, t(9)), ConsentStatus::NeverGiven);
        assert_eq!(
            ledger.state(&mbo, s, t(10)),
            ConsentStatus::InForce {
                since: t(10),
                until: None
            }
        );
        assert_eq!(ledger.state(&mbo, s, t(20)), ConsentStatus::Withdrawn { at: t(20) });
        assert!(!ledger.in_force(&mbo, s, t(29)));
        assert_eq!(
            ledger.state(&mbo, s, t(30)),
            ConsentStatus::InForce {
                since: t(30),
                until: Some(t(100))
            }
        );
        // Consent is per recipient and per section.
        assert!(!ledger.in_force(&brin("30AB"), s, t(50)));
        assert!(!ledger.in_force(&mbo, Section::Attachments, t(50)));
    }

    #[test]
    fn expiry_by_valid_until_is_half_open() {
        let mbo = brin("25LX");
        let s = Section::SupportNeeds;
        let ledger = ConsentLedger::from_events([event(Given, &mbo, s, 0, Some(60))]);
        assert!(ledger.in_force(&mbo, s, t(59)));
        assert_eq!(ledger.state(&mbo, s, t(60)), ConsentStatus::Expired { at: t(60) });
        assert_eq!(ledger.state(&mbo, s, t(600)), ConsentStatus::Expired { at: t(60) });
        // An explicit `expired` event means the same.
        let ledger = ConsentLedger::from_events([event(Given, &mbo, s, 0, None), event(Expired, &mbo, s, 45, None)]);
        assert!(ledger.in_force(&mbo, s, t(44)));
        assert_eq!(ledger.state(&mbo, s, t(45)), ConsentStatus::Expired { at: t(45) });
        // A renewal before the end extends it.
        let ledger =
            ConsentLedger::from_events([event(Given, &mbo, s, 0, Some(60)), event(Given, &mbo, s, 50, Some(120))]);
        assert!(ledger.in_force(&mbo, s, t(90)));
        assert_eq!(ledger.state(&mbo, s, t(120)), ConsentStatus::Expired { at: t(120) });
    }

    #[test]
    fn withdraw_outcomes() {
        let mbo = brin("25LX");
        let s = Section::SupportNeeds;
        let ledger = ConsentLedger::from_events([
            event(Given, &mbo, s, 10, Some(100)),
            event(Withdrawn, &mbo, s, 20, None),
            event(Given, &mbo, s, 30, Some(40)),
        ]);
        assert_eq!(ledger.can_withdraw(&mbo, s, t(5)), WithdrawOutcome::NeverGiven);
        assert_eq!(ledger.can_withdraw(&mbo, s, t(15)), WithdrawOutcome::Withdraw);
        assert_eq!(ledger.can_withdraw(&mbo, s, t(25)), WithdrawOutcome::AlreadyWithdrawn);
        assert_eq!(ledger.can_withdraw(&mbo, s, t(35)), WithdrawOutcome::Withdraw);
        // Expired by valid_until: the withdrawal is still put on record.
        assert_eq!(ledger.can_withdraw(&mbo, s, t(45)), WithdrawOutcome::Withdraw);
        assert_eq!(
            ledger.can_withdraw(&brin("30AB"), s, t(35)),
            WithdrawOutcome::NeverGiven
        );
        // Withdrawing twice is idempotent: after the first withdrawal is
        // appended, the second asks again and is told it is done.
        let after = ConsentLedger::from_events([event(Given, &mbo, s, 10, None), event(Withdrawn, &mbo, s, 20, None)]);
        assert_eq!(after.can_withdraw(&mbo, s, t(21)), WithdrawOutcome::AlreadyWithdrawn);
    }

    #[test]
    fn same_time_events_keep_append_order_and_late_appends_are_sorted() {
        let mbo = brin("25LX");
        let s = Section::Attachments;
        let ledger = ConsentLedger::from_events([event(Given, &mbo, s, 10, None), event(Withdrawn, &mbo, s, 10, None)]);
        assert_eq!(ledger.state(&mbo, s, t(10)), ConsentStatus::Withdrawn { at: t(10) });
        let ledger = ConsentLedger::from_events([event(Withdrawn, &mbo, s, 20, None), event(Given, &mbo, s, 10, None)]);
        assert!(ledger.in_force(&mbo, s, t(15)));
        assert!(!ledger.in_force(&mbo, s, t(20)));
    }

    #[test]
    fn the_view_plugs_into_section_allowed() {
        let mbo = brin("25LX");
        let other = brin("30AB");
        let ledger = ConsentLedger::from_events([
            event(Given, &mbo, Section::SupportNeeds, 0, None),
            event(Given, &other, Section::CareerPortfolio, 0, None),
            event(Withdrawn, &mbo, Section::SupportNeeds, 30, None),
        ]);
        let view = ledger.for_recipient(&mbo, t(10));
        assert_eq!(
            section_allowed(Section::SupportNeeds, LawfulBasis::ExplicitConsent, &view),
            Ok(())
        );
        assert_eq!(
            section_allowed(Section::CareerPortfolio, LawfulBasis::Consent, &view),
            Err(SectionRefusal::NoConsent {
                section: Section::CareerPortfolio
            })
        );
        assert_eq!(
            section_allowed(Section::PersonalData, LawfulBasis::LegalObligation, &view),
            Ok(())
        );
        // The very next moment after a withdrawal, the section is refused.
        let later = ledger.for_recipient(&mbo, t(30));
        assert_eq!(
            section_allowed(Section::SupportNeeds, LawfulBasis::ExplicitConsent, &later),
            Err(SectionRefusal::NoConsent {
                section: Section::SupportNeeds
            })
        );
    }

    #[test]
    fn status_wire_form() {
        assert_eq!(
            serde_json::to_value(ConsentStatus::InForce {
                since: t(0),
                until: None
            })
            .ok(),
            Some(serde_json::json!({"state": "in_force", "since": "2027-02-01T09:00:00Z", "until": null}))
        );
        assert_eq!(
            serde_json::to_value(ConsentStatus::NeverGiven).ok(),
            Some(serde_json::json!({"state": "never_given"}))
        );
    }

    // ---- the property: derivation equals a plain replay ----

    const RECIPIENTS: [&str; 2] = ["25LX", "30AB"];

    /// (kind, recipient index, section, minutes after the previous event,
    /// validity in minutes after the event).
    type Step = (ConsentEventKind, usize, Section, i64, Option<i64>);

    fn step(min_gap: i64) -> impl Strategy<Value = Step> {
        (
            proptest::sample::select(ConsentEventKind::ALL),
            0..RECIPIENTS.len(),
            proptest::sample::select(Section::ALL),
            min_gap..4i64,
            proptest::option::of(1..12i64),
        )
    }

    fn build(steps: &[Step]) -> Vec<ConsentEvent> {
        let recipients = RECIPIENTS.map(brin);
        let mut now = 0;
        let mut events = Vec::new();
        for (kind, r, section, gap, validity) in steps.iter().copied() {
            now += gap;
            let valid_until = match kind {
                Given => validity.map(|v| t(now + v)),
                _ => None,
            };
            events.push(ConsentEvent {
                kind,
                recipient: recipients[r].clone(),
                section,
                at: t(now),
                valid_until,
            });
        }
        events
    }

    /// The straightforward replay: walk the events in order up to `probe`,
    /// remember the last one per (recipient, section), and read it.
    fn replay(events: &[ConsentEvent], recipient: &Brin, section: Section, probe: DateTime<Utc>) -> ConsentStatus {
        let mut last: HashMap<(Brin, Section), &ConsentEvent> = HashMap::new();
        for e in events {
            if e.at > probe {
                break;
            }
            last.insert((e.recipient.clone(), e.section), e);
        }
        let Some(e) = last.get(&(recipient.clone(), section)) else {
            return ConsentStatus::NeverGiven;
        };
        match e.kind {
            Withdrawn => ConsentStatus::Withdrawn { at: e.at },
            Expired => ConsentStatus::Expired { at: e.at },
            Given => {
                let passed = e.valid_until.filter(|until| probe >= *until);
                if let Some(until) = passed {
                    return ConsentStatus::Expired { at: until };
                }
                ConsentStatus::InForce {
                    since: e.at,
                    until: e.valid_until,
                }
            }
        }
    }

    fn check_against_replay(ledger: &ConsentLedger, events: &[ConsentEvent]) -> Result<(), TestCaseError> {
        let end = events.last().map(|e| e.at).unwrap_or_else(|| t(0));
        let minutes = (end - t(0)).num_minutes();
        for recipient in RECIPIENTS.map(brin) {
            for probe in (-1..=minutes + 13).map(t) {
                for section in Section::ALL.iter().copied() {
                    let want = replay(events, &recipient, section, probe);
                    prop_assert_eq!(ledger.state(&recipient, section, probe), want);
                    prop_assert_eq!(ledger.in_force(&recipient, section, probe), want.is_in_force());
                    let view = ledger.for_recipient(&recipient, probe);
                    prop_assert_eq!(view.in_force(section), want.is_in_force());
                    let outcome = match want {
                        ConsentStatus::NeverGiven => WithdrawOutcome::NeverGiven,
                        ConsentStatus::Withdrawn { .. } => WithdrawOutcome::AlreadyWithdrawn,
                        _ => WithdrawOutcome::Withdraw,
                    };
                    prop_assert_eq!(ledger.can_withdraw(&recipient, section, probe), outcome);
                    let basis = section.default_basis();
                    let allowed = !basis.needs_consent() || want.is_in_force();
                    prop_assert_eq!(section_allowed(section, basis, &view).is_ok(), allowed);
                }
            }
        }
        Ok(())
    }

    proptest! {
        #[test]
        fn derived_state_equals_a_plain_replay(steps in proptest::collection::vec(step(0), 0..40)) {
            // Gaps may be 0: events at the same moment, decided by append order.
            let events = build(&steps);
            let ledger = ConsentLedger::from_events(events.clone());
            check_against_replay(&ledger, &events)?;
        }

        #[test]
        fn append_order_does_not_matter_for_distinct_times(
            (steps, order) in proptest::collection::vec(step(1), 0..30)
                .prop_flat_map(|steps| {
                    let n = steps.len();
                    (Just(steps), Just((0..n).collect::<Vec<_>>()).prop_shuffle())
                })
        ) {
            let events = build(&steps);
            let shuffled: Vec<ConsentEvent> = order.iter().filter_map(|i| events.get(*i).cloned()).collect();
            let ledger = ConsentLedger::from_events(shuffled);
            check_against_replay(&ledger, &events)?;
        }
    }
}
