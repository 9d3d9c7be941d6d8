use std::collections::BTreeMap;

use chrono::{DateTime, TimeZone, Utc};
use proptest::prelude::*;

use super::*;

/// Consent in force for exactly the listed sections.
struct Given(Vec<Section>);

impl ConsentState for Given {
    fn in_force(&self, section: Section) -> bool {
        self.0.contains(&section)
    }
}

fn brin(raw: &str) -> Brin {
    Brin::parse(raw).expect("test BRIN")
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2027, 3, 1, 12, 0, 0).single().expect("test time")
}

fn key(key_use: KeyUse, status: KeyStatus, alg: &str) -> KeyFacts {
    KeyFacts {
        key_use,
        status,
        alg: alg.to_owned(),
    }
}

/// The sections travel on their default basis.
fn default_basis(section: Section) -> LawfulBasis {
    section.default_basis()
}

/// A submission that passes every check, for the tests to break one rule of.
struct Fixture {
    sender: Brin,
    recipient: Brin,
    keys: BTreeMap<String, KeyFacts>,
    inspections: Vec<InspectionRecord>,
    consent: Given,
}

impl Fixture {
    fn new() -> Self {
        Self {
            sender: brin("07AB"),
            recipient: brin("25XY"),
            keys: BTreeMap::from([(
                "enc-1".to_owned(),
                key(KeyUse::Enc, KeyStatus::Active, "ECDH-ES+A256KW"),
            )]),
            inspections: vec![InspectionRecord {
                at: now() - chrono::Duration::days(1),
                by: crate::InspectedBy::Student,
                remarks_added: false,
            }],
            consent: Given(Section::ALL.to_vec()),
        }
    }

    fn facts(&self) -> SubmissionFacts<'_> {
        SubmissionFacts {
            sender: &self.sender,
            issued_at: now().timestamp() - 60,
            recipient: Some(InstitutionFacts {
                status: InstitutionStatus::Active,
                sector: Sector::Mbo,
            }),
            recipient_brin: &self.recipient,
            application: Some(ApplicationOnRecord {
                receiving: self.recipient.clone(),
                sending: Some(self.sender.clone()),
                status: ApplicationStatus::Registered,
            }),
            earlier: None,
            sections: Ok(vec![SealedSection {
                section: Section::PersonalData,
                kid: "enc-1".to_owned(),
                alg: "ECDH-ES+A256KW".to_owned(),
            }]),
            recipient_keys: &self.keys,
            inspections: Some(&self.inspections),
            consent: &self.consent,
            basis_of: &default_basis,
            submitted: vec![Section::PersonalData, Section::SupportNeeds],
        }
    }
}

#[test]
fn a_sound_submission_is_admitted_as_new() {
    let fixture = Fixture::new();
    assert_eq!(check_submission(&fixture.facts(), now()), Ok(Admission::New));
}

#[test]
fn the_signer_must_be_the_caller_with_an_active_signing_key() {
    let (own, other) = (brin("07AB"), brin("08CD"));
    let active = key(KeyUse::Sig, KeyStatus::Active, "EdDSA");
    assert_eq!(check_signer(&own, &own, Some(&active)), Ok(()));
    assert_eq!(
        check_signer(&own, &other, Some(&active)),
        Err(SubmissionRefusal::SenderIsNotCaller)
    );
    assert_eq!(
        check_signer(&own, &own, None),
        Err(SubmissionRefusal::UnknownSigningKey)
    );
    let enc = key(KeyUse::Enc, KeyStatus::Active, "EdDSA");
    assert_eq!(
        check_signer(&own, &own, Some(&enc)),
        Err(SubmissionRefusal::NotASigningKey)
    );
    let retired = key(KeyUse::Sig, KeyStatus::Retired, "EdDSA");
    assert_eq!(
        check_signer(&own, &own, Some(&retired)),
        Err(SubmissionRefusal::SigningKeyRetired)
    );
    let revoked = key(KeyUse::Sig, KeyStatus::Revoked, "EdDSA");
    assert_eq!(
        check_signer(&own, &own, Some(&revoked)),
        Err(SubmissionRefusal::SigningKeyRevoked)
    );
}

#[test]
fn the_envelope_must_be_recent_and_not_from_the_future() {
    let fixture = Fixture::new();
    let mut facts = fixture.facts();
    facts.issued_at = now().timestamp() + MAX_CLOCK_AHEAD_SECS;
    assert_eq!(check_submission(&facts, now()), Ok(Admission::New));
    facts.issued_at += 1;
    assert_eq!(check_submission(&facts, now()), Err(SubmissionRefusal::IssuedInFuture));
    facts.issued_at = now().timestamp() - MAX_ENVELOPE_AGE_SECS - 1;
    assert_eq!(check_submission(&facts, now()), Err(SubmissionRefusal::TooOld));
}

#[test]
fn the_recipient_must_be_an_active_mbo() {
    let fixture = Fixture::new();
    for recipient in [
        None,
        Some(InstitutionFacts {
            status: InstitutionStatus::Active,
            sector: Sector::Vo,
        }),
        Some(InstitutionFacts {
            status: InstitutionStatus::Suspended,
            sector: Sector::Mbo,
        }),
    ] {
        let mut facts = fixture.facts();
        facts.recipient = recipient;
        assert_eq!(
            check_submission(&facts, now()),
            Err(SubmissionRefusal::RecipientNotActiveMbo)
        );
    }
}

#[test]
fn a_dossier_only_follows_an_open_application_naming_no_other_school() {
    let fixture = Fixture::new();
    let open = |receiving: &str, sending: Option<&str>, status| ApplicationOnRecord {
        receiving: brin(receiving),
        sending: sending.map(brin),
        status,
    };
    let mut facts = fixture.facts();
    facts.application = Some(open("25XY", None, ApplicationStatus::Received));
    assert_eq!(check_submission(&facts, now()), Ok(Admission::New));
    for application in [
        None,
        Some(open("26ZZ", None, ApplicationStatus::Registered)),
        Some(open("25XY", Some("08CD"), ApplicationStatus::Registered)),
        Some(open("25XY", Some("07AB"), ApplicationStatus::Withdrawn)),
    ] {
        facts.application = application;
        assert_eq!(
            check_submission(&facts, now()),
            Err(SubmissionRefusal::NoOpenApplication)
        );
    }
}

#[test]
fn a_used_jti_answers_the_first_receipt_or_is_a_replay_before_the_sections_count() {
    let fixture = Fixture::new();
    let mut facts = fixture.facts();
    facts.sections = Err(SubmissionRefusal::SectionForm {
        pointer: "/sections".into(),
        detail: "broken".into(),
    });
    facts.earlier = Some(true);
    assert_eq!(check_submission(&facts, now()), Ok(Admission::Resubmission));
    facts.earlier = Some(false);
    let refusal = check_submission(&facts, now());
    assert_eq!(refusal, Err(SubmissionRefusal::Replay));
    assert_eq!(SubmissionRefusal::Replay.pointer(), None);
    facts.earlier = None;
    let form = check_submission(&facts, now()).expect_err("the form is broken");
    assert_eq!(form.pointer().as_deref(), Some("/sections"));
}

#[test]
fn each_section_must_be_sealed_for_an_active_key_of_the_recipient() {
    let sealed = |kid: &str, alg: &str| {
        vec![SealedSection {
            section: Section::Remarks,
            kid: kid.to_owned(),
            alg: alg.to_owned(),
        }]
    };
    let keys = BTreeMap::from([
        ("active".to_owned(), key(KeyUse::Enc, KeyStatus::Active, "RSA-OAEP-256")),
        (
            "retired".to_owned(),
            key(KeyUse::Enc, KeyStatus::Retired, "RSA-OAEP-256"),
        ),
        (
            "revoked".to_owned(),
            key(KeyUse::Enc, KeyStatus::Revoked, "RSA-OAEP-256"),
        ),
        (
            "signing".to_owned(),
            key(KeyUse::Sig, KeyStatus::Active, "RSA-OAEP-256"),
        ),
    ]);
    assert_eq!(
        sealed_for_the_recipient(&sealed("active", "RSA-OAEP-256"), &keys),
        Ok(())
    );
    for (kid, alg, rule) in [
        ("unknown", "RSA-OAEP-256", SealRule::NotARecipientKey),
        ("signing", "RSA-OAEP-256", SealRule::NotARecipientKey),
        ("retired", "RSA-OAEP-256", SealRule::KeyRetired),
        ("revoked", "RSA-OAEP-256", SealRule::KeyRevoked),
        ("active", "ECDH-ES+A256KW", SealRule::OtherAlgorithm),
    ] {
        let refusal = sealed_for_the_recipient(&sealed(kid, alg), &keys).expect_err(kid);
        assert_eq!(
            refusal,
            SubmissionRefusal::NotSealedForRecipient {
                section: Section::Remarks,
                rule
            }
        );
        assert_eq!(refusal.pointer().as_deref(), Some("/sections/remarks"));
        assert!(refusal.to_string().starts_with("section remarks: "), "{refusal}");
    }
}

#[test]
fn the_inspection_must_be_recorded_before_now_when_required() {
    let mut fixture = Fixture::new();
    fixture.inspections.clear();
    let mut facts = fixture.facts();
    assert_eq!(check_submission(&facts, now()), Err(SubmissionRefusal::NotInspected));
    facts.inspections = None;
    assert_eq!(check_submission(&facts, now()), Ok(Admission::New));
}

#[test]
fn a_consent_section_without_consent_is_refused_at_its_pointer() {
    let mut fixture = Fixture::new();
    fixture.consent = Given(vec![]);
    let refusal = check_submission(&fixture.facts(), now()).expect_err("support needs need consent");
    assert_eq!(
        refusal,
        SubmissionRefusal::NotAllowed(SectionRefusal::NoConsent {
            section: Section::SupportNeeds
        })
    );
    assert_eq!(refusal.pointer().as_deref(), Some("/sections/support_needs"));
}

#[test]
fn release_withholds_the_refused_and_the_withdrawn() {
    let decided = releasable(&default_basis, &Given(vec![Section::CareerPortfolio]));
    assert!(decided.allowed.contains(&Section::PersonalData));
    assert!(decided.refused.iter().any(|(s, _)| *s == Section::SupportNeeds));
    let stored = [
        StoredSection {
            section: Section::PersonalData,
            withdrawn: false,
        },
        StoredSection {
            section: Section::SupportNeeds,
            withdrawn: false,
        },
        StoredSection {
            section: Section::CareerPortfolio,
            withdrawn: true,
        },
    ];
    let out = release(&decided, &stored);
    assert_eq!(out.released, vec![Section::PersonalData]);
    assert_eq!(
        out.withheld,
        vec![
            (
                Section::SupportNeeds,
                WithholdReason::Refused(SectionRefusal::NoConsent {
                    section: Section::SupportNeeds
                })
            ),
            (Section::CareerPortfolio, WithholdReason::Withdrawn),
        ]
    );
    assert_eq!(WithholdReason::Withdrawn.to_string(), "consent withdrawn");
}

fn stored_sections() -> impl Strategy<Value = Vec<StoredSection>> {
    proptest::sample::subsequence(Section::ALL.to_vec(), 0..=Section::ALL.len()).prop_flat_map(|sections| {
        let n = sections.len();
        proptest::collection::vec(any::<bool>(), n).prop_map(move |withdrawn| {
            sections
                .iter()
                .zip(withdrawn)
                .map(|(section, withdrawn)| StoredSection {
                    section: *section,
                    withdrawn,
                })
                .collect()
        })
    })
}

proptest! {
    #[test]
    fn release_never_hands_out_a_withdrawn_or_absent_section_and_accounts_for_each(
        stored in stored_sections(),
        consented in proptest::sample::subsequence(Section::ALL.to_vec(), 0..=Section::ALL.len()),
    ) {
        let decided = releasable(&default_basis, &Given(consented));
        let out = release(&decided, &stored);
        for section in &out.released {
            let kept = stored.iter().find(|s| s.section == *section);
            prop_assert!(kept.is_some_and(|s| !s.withdrawn), "{section} released");
            prop_assert!(decided.allowed.contains(section));
        }
        for (section, reason) in &out.withheld {
            let kept = stored.iter().find(|s| s.section == *section);
            prop_assert!(kept.is_some(), "{section} withheld but not in the package");
            prop_assert!(!out.released.contains(section));
            if kept.is_some_and(|s| s.withdrawn) {
                prop_assert_eq!(*reason, WithholdReason::Withdrawn);
            }
        }
        // Every stored section is either released or withheld, once.
        prop_assert_eq!(out.released.len() + out.withheld.len(), stored.len());
    }

    #[test]
    fn a_submission_admitted_as_new_sends_only_allowed_sections(
        consented in proptest::sample::subsequence(Section::ALL.to_vec(), 0..=Section::ALL.len()),
        submitted in proptest::sample::subsequence(Section::ALL.to_vec(), 0..=Section::ALL.len()),
    ) {
        let mut fixture = Fixture::new();
        fixture.consent = Given(consented);
        let mut facts = fixture.facts();
        facts.submitted = submitted.clone();
        let decided = releasable(&default_basis, facts.consent);
        let all_allowed = submitted.iter().all(|s| decided.allowed.contains(s));
        prop_assert_eq!(check_submission(&facts, now()).is_ok(), all_allowed);
    }
}
