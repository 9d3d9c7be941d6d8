//! The lawful basis (GDPR art. 6 and 9) on which each section of the
//! dossier travels, and the seam where the consent ledger plugs in.
//!
//! | section            | basis               | why                                                        |
//! |--------------------|---------------------|------------------------------------------------------------|
//! | `personal_data`    | `legal_obligation`  | the law requires the transfer of the baseline data         |
//! | `support_needs`    | `explicit_consent`  | often health data, a special category (GDPR art. 9(2)(a))  |
//! | `career_portfolio` | `consent`           | beyond the legal baseline                                  |
//! | `attachments`      | `consent`           | beyond the legal baseline                                  |
//! | `remarks`          | `student_agreement` | the student's (or parents') own words after inspection     |
//!
//! A section travels only on its own basis: a sender cannot declare
//! `support_needs` to be a legal obligation and so skip consent. Sections
//! on a consent basis go only while consent is in force, as a
//! [`ConsentState`] tells. Until the consent ledger exists, the broker uses
//! [`NoConsentLedger`], in which nothing is in force — privacy by default:
//! consent-based sections are refused.

use serde::{Deserialize, Serialize};

use crate::dossier::Section;
use crate::ids::wire_enum;

wire_enum!(
    /// The lawful basis for transferring a section.
    LawfulBasis, "lawful_basis" {
        /// GDPR art. 6(1)(c): a legal obligation of the sending school.
        LegalObligation => "legal_obligation",
        /// GDPR art. 9(2)(a): explicit consent, for special categories.
        ExplicitConsent => "explicit_consent",
        /// GDPR art. 6(1)(a): consent, withdrawable at any time.
        Consent => "consent",
        /// The student (or, under 16, a parent) wrote or agreed to it
        /// themselves after inspecting the dossier.
        StudentAgreement => "student_agreement",
    }
);

impl LawfulBasis {
    /// Whether the basis holds only while consent is in force.
    pub const fn needs_consent(self) -> bool {
        matches!(self, LawfulBasis::ExplicitConsent | LawfulBasis::Consent)
    }
}

impl Section {
    /// The bases a region may configure for this section: the default and,
    /// where it is stricter, consent. Health data (support needs) only ever
    /// travels on explicit consent (GDPR art. 9(2)(a)).
    pub const fn permitted_bases(self) -> &'static [LawfulBasis] {
        match self {
            Section::PersonalData => &[LawfulBasis::LegalObligation, LawfulBasis::Consent],
            Section::SupportNeeds => &[LawfulBasis::ExplicitConsent],
            Section::CareerPortfolio | Section::Attachments => &[LawfulBasis::Consent, LawfulBasis::ExplicitConsent],
            Section::Remarks => &[LawfulBasis::StudentAgreement, LawfulBasis::Consent],
        }
    }

    /// The basis this section travels on (see the module's table).
    pub const fn default_basis(self) -> LawfulBasis {
        match self {
            Section::PersonalData => LawfulBasis::LegalObligation,
            Section::SupportNeeds => LawfulBasis::ExplicitConsent,
            Section::CareerPortfolio | Section::Attachments => LawfulBasis::Consent,
            Section::Remarks => LawfulBasis::StudentAgreement,
        }
    }
}

/// Whether consent is in force, per section, for one student and one
/// receiving institution at one moment. The consent ledger (a later issue)
/// implements it from its records; the caller builds it for the package's
/// data subject and recipient, at the time passed in.
pub trait ConsentState {
    /// Whether consent for `section` is given and not withdrawn.
    fn in_force(&self, section: Section) -> bool;
}

/// The consent state while there is no consent ledger: nothing is in force,
/// so every consent-based section is refused.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NoConsentLedger;

impl ConsentState for NoConsentLedger {
    fn in_force(&self, _section: Section) -> bool {
        false
    }
}

/// Why a section may not be sent or released. The text is safe to return
/// to the caller and to put in the audit log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SectionRefusal {
    /// The declared basis is not one the section may travel on.
    #[error("section {section} cannot travel on {declared}; its default basis is {required}")]
    WrongBasis {
        section: Section,
        declared: LawfulBasis,
        required: LawfulBasis,
    },
    /// The section needs consent and none is in force.
    #[error("section {section} needs consent, and no consent is recorded")]
    NoConsent { section: Section },
}

/// Whether `section`, travelling on `basis` (the region's configuration),
/// may be sent (or released) now: the basis must be one the section permits
/// ([`Section::permitted_bases`]); `legal_obligation` and
/// `student_agreement` are then always allowed, `consent` and
/// `explicit_consent` only while `consent` says it is in force.
pub fn section_allowed(section: Section, basis: LawfulBasis, consent: &dyn ConsentState) -> Result<(), SectionRefusal> {
    let required = section.default_basis();
    if !section.permitted_bases().contains(&basis) {
        return Err(SectionRefusal::WrongBasis {
            section,
            declared: basis,
            required,
        });
    }
    if basis.needs_consent() && !consent.in_force(section) {
        return Err(SectionRefusal::NoConsent { section });
    }
    Ok(())
}

/// The lawful basis each section travels on (GDPR art. 6 and 9), as a
/// region configures it (`[lawful_basis]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LawfulBases {
    pub personal_data: LawfulBasis,
    pub support_needs: LawfulBasis,
    pub career_portfolio: LawfulBasis,
    pub remarks: LawfulBasis,
    pub attachments: LawfulBasis,
}

impl LawfulBases {
    /// The basis of `section`.
    pub fn of(&self, section: Section) -> LawfulBasis {
        match section {
            Section::PersonalData => self.personal_data,
            Section::SupportNeeds => self.support_needs,
            Section::CareerPortfolio => self.career_portfolio,
            Section::Remarks => self.remarks,
            Section::Attachments => self.attachments,
        }
    }

    /// The first section whose basis it does not permit, if any.
    pub fn first_not_permitted(&self) -> Option<(Section, LawfulBasis)> {
        Section::ALL
            .iter()
            .map(|section| (*section, self.of(*section)))
            .find(|(section, basis)| !section.permitted_bases().contains(basis))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Consent in force for exactly the listed sections.
    struct Given(&'static [Section]);

    impl ConsentState for Given {
        fn in_force(&self, section: Section) -> bool {
            self.0.contains(&section)
        }
    }

    #[test]
    fn default_bases() {
        use LawfulBasis::*;
        let table = [
            (Section::PersonalData, LegalObligation),
            (Section::SupportNeeds, ExplicitConsent),
            (Section::CareerPortfolio, Consent),
            (Section::Attachments, Consent),
            (Section::Remarks, StudentAgreement),
        ];
        assert_eq!(table.len(), Section::ALL.len());
        for (section, basis) in table {
            assert_eq!(section.default_basis(), basis, "{section}");
        }
        assert_eq!(
            serde_json::to_string(&ExplicitConsent).ok().as_deref(),
            Some("\"explicit_consent\"")
        );
        assert_eq!(LawfulBasis::parse("student_agreement"), Ok(StudentAgreement));
    }

    #[test]
    fn without_a_ledger_only_non_consent_sections_go() {
        for section in Section::ALL.iter().copied() {
            let result = section_allowed(section, section.default_basis(), &NoConsentLedger);
            match section {
                Section::PersonalData | Section::Remarks => assert_eq!(result, Ok(()), "{section}"),
                _ => assert_eq!(result, Err(SectionRefusal::NoConsent { section })),
            }
        }
        assert_eq!(
            section_allowed(Section::SupportNeeds, LawfulBasis::ExplicitConsent, &NoConsentLedger)
                .err()
                .map(|e| e.to_string())
                .as_deref(),
            Some("section support_needs needs consent, and no consent is recorded")
        );
    }

    #[test]
    fn consent_in_force_allows_its_section_only() {
        let given = Given(&[Section::SupportNeeds]);
        assert_eq!(
            section_allowed(Section::SupportNeeds, LawfulBasis::ExplicitConsent, &given),
            Ok(())
        );
        assert!(section_allowed(Section::CareerPortfolio, LawfulBasis::Consent, &given).is_err());
        assert!(section_allowed(Section::Attachments, LawfulBasis::Consent, &given).is_err());
    }

    #[test]
    fn a_section_travels_only_on_a_basis_it_permits() {
        let all = Given(Section::ALL);
        let permitted = [
            (Section::PersonalData, &["legal_obligation", "consent"][..]),
            (Section::SupportNeeds, &["explicit_consent"][..]),
            (Section::CareerPortfolio, &["explicit_consent", "consent"][..]),
            (Section::Remarks, &["consent", "student_agreement"][..]),
            (Section::Attachments, &["explicit_consent", "consent"][..]),
        ];
        for (section, bases) in permitted {
            assert!(section.permitted_bases().contains(&section.default_basis()));
            for basis in LawfulBasis::ALL.iter().copied() {
                let result = section_allowed(section, basis, &all);
                assert_eq!(result.is_ok(), bases.contains(&basis.as_str()), "{section} on {basis}");
            }
        }
        assert_eq!(
            section_allowed(Section::SupportNeeds, LawfulBasis::LegalObligation, &NoConsentLedger)
                .err()
                .map(|e| e.to_string())
                .as_deref(),
            Some("section support_needs cannot travel on legal_obligation; its default basis is explicit_consent")
        );
    }
}
