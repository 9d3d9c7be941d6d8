//! What of a student's consent and inspection ledger a privacy officer
//! sees. The broker's privacy officer sees every record; an institution's
//! sees the records it made itself (a school), the consent given for it
//! (an mbo), and the inspections recorded by the schools that send the
//! student to it (the inspections its packages wait for). The one rule for
//! the consent history and the art. 15 report.
//!
//! A school's system is not an officer: it sees its own ledger only, read
//! by owner (see `authz`, "The consent and inspection ledger").

use crate::ids::Brin;

/// Whose privacy officer asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OfficerScope<'a> {
    /// The broker's privacy officer: every record.
    Broker,
    /// An institution's privacy officer.
    Institution {
        institution: &'a Brin,
        /// The schools that send the student to `institution` (an
        /// application names them).
        sending_to_it: &'a [Brin],
    },
}

/// The parties of a ledger record that decide who sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LedgerParties<'a> {
    /// A consent event: the school that recorded it, the mbo it is for.
    Consent { school: &'a Brin, recipient: &'a Brin },
    /// An inspection: the school that recorded it.
    Inspection { school: &'a Brin },
}

/// A record of the ledger (a stored consent event, an inspection).
pub trait LedgerRecord {
    fn parties(&self) -> LedgerParties<'_>;
}

impl OfficerScope<'_> {
    /// Whether the officer sees a record with these parties.
    pub fn sees(&self, parties: LedgerParties<'_>) -> bool {
        let OfficerScope::Institution {
            institution,
            sending_to_it,
        } = self
        else {
            return true;
        };
        match parties {
            LedgerParties::Consent { school, recipient } => school == *institution || recipient == *institution,
            LedgerParties::Inspection { school } => school == *institution || sending_to_it.contains(school),
        }
    }

    /// The records the officer sees, in their order.
    pub fn filter<R: LedgerRecord>(&self, records: Vec<R>) -> Vec<R> {
        records.into_iter().filter(|r| self.sees(r.parties())).collect()
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[derive(Debug, Clone, PartialEq, Eq)]
    enum Record {
        Consent(Brin, Brin),
        Inspection(Brin),
    }

    impl LedgerRecord for Record {
        fn parties(&self) -> LedgerParties<'_> {
            match self {
                Record::Consent(school, recipient) => LedgerParties::Consent { school, recipient },
                Record::Inspection(school) => LedgerParties::Inspection { school },
            }
        }
    }

    fn brin(code: &str) -> Brin {
        Brin::parse(code).unwrap()
    }

    const VO: &str = "25LX";
    const OTHER_VO: &str = "26VO";
    const MBO: &str = "30AB";
    const OTHER_MBO: &str = "31CD";

    fn ledger() -> Vec<Record> {
        vec![
            Record::Consent(brin(VO), brin(MBO)),
            Record::Consent(brin(VO), brin(OTHER_MBO)),
            Record::Consent(brin(OTHER_VO), brin(OTHER_MBO)),
            Record::Inspection(brin(VO)),
            Record::Inspection(brin(OTHER_VO)),
        ]
    }

    #[test]
    fn the_broker_sees_everything() {
        assert_eq!(OfficerScope::Broker.filter(ledger()), ledger());
    }

    #[test]
    fn a_school_sees_what_it_recorded() {
        let school = brin(VO);
        let scope = OfficerScope::Institution {
            institution: &school,
            sending_to_it: &[],
        };
        assert_eq!(
            scope.filter(ledger()),
            vec![
                Record::Consent(brin(VO), brin(MBO)),
                Record::Consent(brin(VO), brin(OTHER_MBO)),
                Record::Inspection(brin(VO)),
            ]
        );
    }

    #[test]
    fn an_mbo_sees_consent_for_it_and_the_inspections_of_its_sending_schools() {
        let mbo = brin(MBO);
        let sending = [brin(VO)];
        let scope = OfficerScope::Institution {
            institution: &mbo,
            sending_to_it: &sending,
        };
        assert_eq!(
            scope.filter(ledger()),
            vec![Record::Consent(brin(VO), brin(MBO)), Record::Inspection(brin(VO))]
        );
        // A school that sends elsewhere only is none of its business.
        let other = brin(OTHER_MBO);
        let scope = OfficerScope::Institution {
            institution: &other,
            sending_to_it: &[],
        };
        assert_eq!(
            scope.filter(ledger()),
            vec![
                Record::Consent(brin(VO), brin(OTHER_MBO)),
                Record::Consent(brin(OTHER_VO), brin(OTHER_MBO)),
            ]
        );
    }

    const CODES: [&str; 4] = [VO, OTHER_VO, MBO, OTHER_MBO];

    fn record() -> impl Strategy<Value = Record> {
        let code = || proptest::sample::select(&CODES[..]).prop_map(brin);
        prop_oneof![
            (code(), code()).prop_map(|(s, r)| Record::Consent(s, r)),
            code().prop_map(Record::Inspection),
        ]
    }

    proptest! {
        /// An institution's officer sees a subset of the broker's view, in
        /// the same order, and every record it sees names it or one of the
        /// schools sending to it.
        #[test]
        fn an_institution_sees_only_records_it_is_party_to(
            records in proptest::collection::vec(record(), 0..20),
            own in proptest::sample::select(&CODES[..]),
            sending in proptest::collection::vec(proptest::sample::select(&CODES[..]), 0..3),
        ) {
            let own = brin(own);
            let sending: Vec<Brin> = sending.into_iter().map(brin).collect();
            let scope = OfficerScope::Institution { institution: &own, sending_to_it: &sending };
            let seen = scope.filter(records.clone());
            let mut rest = records.iter();
            for r in &seen {
                prop_assert!(rest.any(|x| x == r), "in order, and from the records");
                let party = match r {
                    Record::Consent(school, recipient) => school == &own || recipient == &own,
                    Record::Inspection(school) => school == &own || sending.contains(school),
                };
                prop_assert!(party, "{r:?}");
            }
            let own_records = records.iter().filter(|r| matches!(r, Record::Consent(s, _) | Record::Inspection(s) if s == &own));
            for r in own_records {
                prop_assert!(seen.contains(r), "what it recorded itself: {r:?}");
            }
        }
    }
}
