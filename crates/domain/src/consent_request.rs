//! The checks of a request to give or withdraw consent that need no
//! database: the recipient must be an active mbo, the sections must travel
//! on consent (as the region configured them), the one who decides must be
//! the right one for the student's age that day, and a validity end must lie
//! ahead (only when giving). And which of the named sections a withdrawal
//! puts on record, read from the school's own [`ConsentLedger`].
//!
//! The broker reads the facts (the recipient's registration, the ledger)
//! and applies these rules; the rules never read anything themselves.

use chrono::{DateTime, NaiveDate, Utc};

use crate::consent::{
    ConsentEventKind, ConsentLedger, ConsentRuleError, GivenBy, UnderSixteen, WithdrawOutcome, check_consent_giver,
    check_consent_recipient,
};
use crate::dossier::Section;
use crate::ids::{Brin, Sector};
use crate::lawful::LawfulBasis;

/// A request to give or withdraw consent, as the rules see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConsentAsk<'a> {
    /// [`ConsentEventKind::Given`] or [`ConsentEventKind::Withdrawn`].
    pub event: ConsentEventKind,
    pub sections: &'a [Section],
    /// Used for the age rule, then dropped.
    pub date_of_birth: NaiveDate,
    pub given_by: GivenBy,
    /// When a given consent ends by itself.
    pub valid_until: Option<DateTime<Utc>>,
}

/// A request that passed [`check_consent_request`]: the sections it names,
/// each once and sorted, and the one fact kept of the date of birth.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedConsent {
    pub sections: Vec<Section>,
    pub under_16: UnderSixteen,
}

/// Why a consent request is refused (422). Each names the field it is
/// about ([`ConsentRequestError::pointer`]); the text is safe to answer
/// and to log (it never holds the date of birth).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ConsentRequestError {
    /// The recipient is no registered, active institution.
    #[error("recipient: not a registered active mbo institution")]
    UnknownRecipient,
    /// The recipient is registered, but no mbo.
    #[error("{0}")]
    Recipient(ConsentRuleError),
    #[error("sections: name at least one section")]
    NoSections,
    /// The section travels on another basis in this region.
    #[error("sections: {0} does not travel on consent here (see GET /v1/register)")]
    NotOnConsent(Section),
    /// The age rule: who decides, or an implausible date of birth.
    #[error("{0}")]
    Giver(ConsentRuleError),
    #[error("valid_until: must lie in the future")]
    ValidUntilPassed,
    #[error("valid_until: only a given consent has one")]
    ValidUntilOnWithdrawal,
}

impl ConsentRequestError {
    /// The JSON pointer of the field the refusal is about.
    pub fn pointer(&self) -> &'static str {
        match self {
            ConsentRequestError::UnknownRecipient | ConsentRequestError::Recipient(_) => "/recipient",
            ConsentRequestError::NoSections | ConsentRequestError::NotOnConsent(_) => "/sections",
            ConsentRequestError::Giver(ConsentRuleError::StudentUnderSixteen | ConsentRuleError::StudentDecides) => {
                "/given_by"
            }
            ConsentRequestError::Giver(_) => "/date_of_birth",
            ConsentRequestError::ValidUntilPassed | ConsentRequestError::ValidUntilOnWithdrawal => "/valid_until",
        }
    }
}

/// Checks a consent request made at `now`, on `today` (the day in the
/// Netherlands, where the age rule is applied), against the recipient's
/// sector (`None`: not registered or not active) and the configured lawful
/// `basis` of each section. The first rule broken is the answer, in the
/// order: recipient, sections, age, validity.
pub fn check_consent_request(
    ask: &ConsentAsk<'_>,
    recipient: Option<Sector>,
    basis: impl Fn(Section) -> LawfulBasis,
    now: DateTime<Utc>,
    today: NaiveDate,
) -> Result<CheckedConsent, ConsentRequestError> {
    let sector = recipient.ok_or(ConsentRequestError::UnknownRecipient)?;
    check_consent_recipient(sector).map_err(ConsentRequestError::Recipient)?;
    if ask.sections.is_empty() {
        return Err(ConsentRequestError::NoSections);
    }
    let mut sections = ask.sections.to_vec();
    sections.sort();
    sections.dedup();
    if let Some(section) = sections.iter().find(|s| !basis(**s).needs_consent()) {
        return Err(ConsentRequestError::NotOnConsent(*section));
    }
    let under_16 = check_consent_giver(ask.date_of_birth, today, ask.given_by).map_err(ConsentRequestError::Giver)?;
    match (ask.event, ask.valid_until) {
        (ConsentEventKind::Given, Some(until)) if until <= now => Err(ConsentRequestError::ValidUntilPassed),
        (ConsentEventKind::Withdrawn | ConsentEventKind::Expired, Some(_)) => {
            Err(ConsentRequestError::ValidUntilOnWithdrawal)
        }
        _ => Ok(CheckedConsent { sections, under_16 }),
    }
}

/// The sections of a withdrawal at `at` that get a `withdrawn` event, from
/// the withdrawing school's own ledger: those in force or expired (empty
/// when every one is withdrawn already: the request is answered with the
/// earlier receipt). `None` when a section was never given: there is
/// nothing to withdraw, and the answer is "not found".
pub fn sections_to_withdraw(
    ledger: &ConsentLedger,
    recipient: &Brin,
    sections: &[Section],
    at: DateTime<Utc>,
) -> Option<Vec<Section>> {
    let mut to_withdraw = Vec::new();
    for section in sections {
        match ledger.can_withdraw(recipient, *section, at) {
            WithdrawOutcome::Withdraw => to_withdraw.push(*section),
            WithdrawOutcome::AlreadyWithdrawn => {}
            WithdrawOutcome::NeverGiven => return None,
        }
    }
    Some(to_withdraw)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use proptest::prelude::*;

    use super::*;
    use crate::consent::{ConsentEvent, ConsentStatus};

    fn t(minutes: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_750_000_000 + minutes * 60, 0).single().unwrap()
    }

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn brin(code: &str) -> Brin {
        Brin::parse(code).unwrap()
    }

    fn ask(event: ConsentEventKind, sections: &[Section]) -> ConsentAsk<'_> {
        ConsentAsk {
            event,
            sections,
            date_of_birth: day(2008, 3, 1),
            given_by: GivenBy::Student,
            valid_until: None,
        }
    }

    fn check(ask: &ConsentAsk<'_>, recipient: Option<Sector>) -> Result<CheckedConsent, ConsentRequestError> {
        check_consent_request(ask, recipient, Section::default_basis, t(0), day(2026, 6, 1))
    }

    const ON_CONSENT: [Section; 2] = [Section::SupportNeeds, Section::CareerPortfolio];

    #[test]
    fn a_good_request_names_its_sections_once_and_sorted() {
        let sections = [
            Section::CareerPortfolio,
            Section::SupportNeeds,
            Section::CareerPortfolio,
        ];
        let checked = check(&ask(ConsentEventKind::Given, &sections), Some(Sector::Mbo)).unwrap();
        let mut want = ON_CONSENT.to_vec();
        want.sort();
        assert_eq!(checked.sections, want);
        assert_eq!(checked.under_16, UnderSixteen(false));
    }

    #[test]
    fn the_recipient_must_be_a_registered_active_mbo() {
        let given = ask(ConsentEventKind::Given, &ON_CONSENT);
        let err = check(&given, None).unwrap_err();
        assert_eq!(
            (err, err.pointer()),
            (ConsentRequestError::UnknownRecipient, "/recipient")
        );
        assert_eq!(err.to_string(), "recipient: not a registered active mbo institution");
        let err = check(&given, Some(Sector::Vo)).unwrap_err();
        assert_eq!(err, ConsentRequestError::Recipient(ConsentRuleError::RecipientNotMbo));
        assert_eq!(err.pointer(), "/recipient");
    }

    #[test]
    fn sections_must_be_named_and_travel_on_consent() {
        let err = check(&ask(ConsentEventKind::Given, &[]), Some(Sector::Mbo)).unwrap_err();
        assert_eq!((err, err.pointer()), (ConsentRequestError::NoSections, "/sections"));
        let legal = [Section::SupportNeeds, Section::PersonalData];
        let err = check(&ask(ConsentEventKind::Given, &legal), Some(Sector::Mbo)).unwrap_err();
        assert_eq!(err, ConsentRequestError::NotOnConsent(Section::PersonalData));
        assert_eq!(
            err.to_string(),
            "sections: personal_data does not travel on consent here (see GET /v1/register)"
        );
        // A region that puts personal data on consent lets it be asked.
        let region = |s: Section| match s {
            Section::PersonalData => LawfulBasis::Consent,
            other => other.default_basis(),
        };
        let checked = check_consent_request(
            &ask(ConsentEventKind::Given, &legal),
            Some(Sector::Mbo),
            region,
            t(0),
            day(2026, 6, 1),
        );
        assert!(checked.is_ok(), "{checked:?}");
    }

    #[test]
    fn the_age_rule_points_at_who_decides_or_at_the_date_of_birth() {
        let mut parent = ask(ConsentEventKind::Given, &ON_CONSENT);
        parent.given_by = GivenBy::Parent;
        let err = check(&parent, Some(Sector::Mbo)).unwrap_err();
        assert_eq!(err, ConsentRequestError::Giver(ConsentRuleError::StudentDecides));
        assert_eq!(err.pointer(), "/given_by");
        let mut young = ask(ConsentEventKind::Given, &ON_CONSENT);
        young.date_of_birth = day(2012, 1, 1);
        assert_eq!(check(&young, Some(Sector::Mbo)).unwrap_err().pointer(), "/given_by");
        young.given_by = GivenBy::Guardian;
        assert_eq!(check(&young, Some(Sector::Mbo)).unwrap().under_16, UnderSixteen(true));
        let mut unborn = ask(ConsentEventKind::Given, &ON_CONSENT);
        unborn.date_of_birth = day(2027, 1, 1);
        let err = check(&unborn, Some(Sector::Mbo)).unwrap_err();
        assert_eq!(err, ConsentRequestError::Giver(ConsentRuleError::DateOfBirthInFuture));
        assert_eq!(err.pointer(), "/date_of_birth");
    }

    #[test]
    fn only_a_given_consent_has_a_validity_end_and_it_lies_ahead() {
        let mut given = ask(ConsentEventKind::Given, &ON_CONSENT);
        given.valid_until = Some(t(0));
        let err = check(&given, Some(Sector::Mbo)).unwrap_err();
        assert_eq!(
            (err, err.pointer()),
            (ConsentRequestError::ValidUntilPassed, "/valid_until")
        );
        given.valid_until = Some(t(1));
        assert!(check(&given, Some(Sector::Mbo)).is_ok());
        let mut withdrawn = ask(ConsentEventKind::Withdrawn, &ON_CONSENT);
        withdrawn.valid_until = Some(t(1));
        let err = check(&withdrawn, Some(Sector::Mbo)).unwrap_err();
        assert_eq!(err, ConsentRequestError::ValidUntilOnWithdrawal);
        withdrawn.valid_until = None;
        assert!(check(&withdrawn, Some(Sector::Mbo)).is_ok());
    }

    #[test]
    fn the_first_rule_broken_is_the_answer() {
        // Unknown recipient and no sections: the recipient is named.
        let mut bad = ask(ConsentEventKind::Withdrawn, &[]);
        bad.valid_until = Some(t(5));
        assert_eq!(check(&bad, None).unwrap_err(), ConsentRequestError::UnknownRecipient);
        assert_eq!(
            check(&bad, Some(Sector::Mbo)).unwrap_err(),
            ConsentRequestError::NoSections
        );
    }

    fn event(kind: ConsentEventKind, section: Section, at: i64) -> ConsentEvent {
        ConsentEvent {
            kind,
            recipient: brin("30AB"),
            section,
            at: t(at),
            valid_until: None,
        }
    }

    #[test]
    fn a_withdrawal_records_what_is_given_skips_what_is_withdrawn_and_refuses_the_unknown() {
        let ledger = ConsentLedger::from_events([
            event(ConsentEventKind::Given, Section::SupportNeeds, 0),
            event(ConsentEventKind::Given, Section::CareerPortfolio, 0),
            event(ConsentEventKind::Withdrawn, Section::CareerPortfolio, 1),
        ]);
        let mbo = brin("30AB");
        assert_eq!(
            sections_to_withdraw(&ledger, &mbo, &ON_CONSENT, t(2)),
            Some(vec![Section::SupportNeeds])
        );
        assert_eq!(
            sections_to_withdraw(&ledger, &mbo, &[Section::CareerPortfolio], t(2)),
            Some(vec![])
        );
        assert_eq!(
            sections_to_withdraw(&ledger, &mbo, &[Section::SupportNeeds, Section::Attachments], t(2)),
            None
        );
        assert_eq!(sections_to_withdraw(&ledger, &brin("31CD"), &ON_CONSENT, t(2)), None);
    }

    /// (kind, section, minutes after the previous event).
    type Step = (ConsentEventKind, Section, i64);

    fn steps() -> impl Strategy<Value = Vec<Step>> {
        proptest::collection::vec(
            (
                proptest::sample::select(ConsentEventKind::ALL),
                proptest::sample::select(Section::ALL),
                0..3i64,
            ),
            0..30,
        )
    }

    proptest! {
        /// After a withdrawal nothing of that section is in force until it
        /// is given again, whatever came before, and withdrawing it again
        /// records nothing.
        #[test]
        fn after_a_withdrawal_nothing_is_in_force_until_given_again(
            before in steps(),
            after in steps(),
            section in proptest::sample::select(Section::ALL),
        ) {
            let mut now = 0;
            let mut events = Vec::new();
            for (kind, s, gap) in before {
                now += gap;
                events.push(event(kind, s, now));
            }
            let withdrawn_at = now;
            events.push(event(ConsentEventKind::Withdrawn, section, withdrawn_at));
            let mut given_again = None;
            for (kind, s, gap) in after {
                now += gap;
                if kind == ConsentEventKind::Given && s == section && given_again.is_none() {
                    given_again = Some(now);
                }
                events.push(event(kind, s, now));
            }
            let ledger = ConsentLedger::from_events(events);
            let mbo = brin("30AB");
            let end = given_again.unwrap_or(now + 5);
            for probe in withdrawn_at..end {
                let state = ledger.state(&mbo, section, t(probe));
                prop_assert!(!state.is_in_force(), "{probe}: {state:?}");
                if matches!(state, ConsentStatus::Withdrawn { .. }) {
                    prop_assert_eq!(sections_to_withdraw(&ledger, &mbo, &[section], t(probe)), Some(vec![]));
                }
            }
        }
    }
}
