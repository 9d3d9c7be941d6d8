//! The rules of the dossier exchange that need no database: whether a
//! submitted package may be accepted ([`check_signer`], then
//! [`check_submission`]) and which sections of a package go out when the
//! intaker pulls it ([`releasable`], then [`release`]). The use case reads
//! the facts (keys, application, earlier package, inspections, consent)
//! in its transaction and hands them over; these functions decide, in the
//! order of PACKAGE-FORMAT.md §9, and answer the first rule broken.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::{
    ApplicationStatus, Brin, ConsentState, InspectionRecord, InstitutionStatus, KeyStatus, KeyUse, LawfulBasis,
    Section, SectionRefusal, Sector, inspected, section_allowed,
};

/// How far a sender's clock may run ahead of the broker's.
pub const MAX_CLOCK_AHEAD_SECS: i64 = 5 * 60;
/// How old a sealed envelope may be when it is submitted.
pub const MAX_ENVELOPE_AGE_SECS: i64 = 7 * 24 * 3600;

/// What the checks read of a registered key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyFacts {
    pub key_use: KeyUse,
    pub status: KeyStatus,
    pub alg: String,
}

/// What the checks read of an institution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InstitutionFacts {
    pub status: InstitutionStatus,
    pub sector: Sector,
}

/// What the checks read of the application an envelope names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplicationOnRecord {
    pub receiving: Brin,
    pub sending: Option<Brin>,
    pub status: ApplicationStatus,
}

/// A section token's clear header: the recipient key it is sealed for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedSection {
    pub section: Section,
    pub kid: String,
    pub alg: String,
}

/// Why a recipient key does not open a section.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SealRule {
    NotARecipientKey,
    KeyRetired,
    KeyRevoked,
    OtherAlgorithm,
}

impl SealRule {
    fn text(self) -> &'static str {
        match self {
            SealRule::NotARecipientKey => "protected header `kid` is not an encryption key of the recipient",
            SealRule::KeyRetired => "the recipient key is retired",
            SealRule::KeyRevoked => "the recipient key is revoked",
            SealRule::OtherAlgorithm => "protected header `alg` is not the algorithm of the recipient key",
        }
    }
}

/// Why a submission is refused. The text (`Display`) is the problem's
/// detail and [`SubmissionRefusal::pointer`] the member it is about; both
/// are safe to show the sender.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubmissionRefusal {
    #[error("envelope: iss is not the institution of the client certificate")]
    SenderIsNotCaller,
    #[error("envelope: kid is not a registered key of the sender")]
    UnknownSigningKey,
    #[error("envelope: kid is not a signing key")]
    NotASigningKey,
    #[error("envelope: the signing key is retired")]
    SigningKeyRetired,
    #[error("envelope: the signing key is revoked")]
    SigningKeyRevoked,
    /// The envelope's form or signature (the JOSE check's own words).
    #[error("{0}")]
    Envelope(String),
    #[error("envelope: iat lies in the future")]
    IssuedInFuture,
    #[error("envelope: iat is more than 7 days old; seal the package anew")]
    TooOld,
    #[error("envelope: aud is not an active mbo institution")]
    RecipientNotActiveMbo,
    #[error(
        "envelope: no open application of this student at the recipient names this school; \
         a dossier only follows an application"
    )]
    NoOpenApplication,
    /// The `jti` was used before for another envelope (a conflict, not a
    /// broken rule of the package).
    #[error("envelope: jti was already used (replay)")]
    Replay,
    /// A section's form or digest (the JOSE check's own words), at
    /// `pointer`.
    #[error("{detail}")]
    SectionForm { pointer: String, detail: String },
    #[error("section {section}: {}", rule.text())]
    NotSealedForRecipient { section: Section, rule: SealRule },
    #[error(
        "application: the student's (or parents') inspection of the dossier is not recorded yet \
         (POST /v1/inspections)"
    )]
    NotInspected,
    #[error("{0}")]
    NotAllowed(SectionRefusal),
}

impl SubmissionRefusal {
    /// The JSON pointer of the member the refusal is about (`None` for a
    /// replay, which is about no member).
    pub fn pointer(&self) -> Option<String> {
        match self {
            SubmissionRefusal::Replay => None,
            SubmissionRefusal::SectionForm { pointer, .. } => Some(pointer.clone()),
            SubmissionRefusal::NotSealedForRecipient { section, .. } => Some(format!("/sections/{section}")),
            SubmissionRefusal::NotAllowed(refusal) => Some(format!("/sections/{}", refused_section(refusal))),
            _ => Some("/envelope".to_owned()),
        }
    }
}

fn refused_section(refusal: &SectionRefusal) -> Section {
    match refusal {
        SectionRefusal::WrongBasis { section, .. } | SectionRefusal::NoConsent { section } => *section,
    }
}

/// The sender's side of a submission, checked before its signature: the
/// envelope's `iss` is the caller's institution (`own`) and its `kid`
/// (`key`, as registered to `own`) an active signing key.
pub fn check_signer(own: &Brin, iss: &Brin, key: Option<&KeyFacts>) -> Result<(), SubmissionRefusal> {
    if iss != own {
        return Err(SubmissionRefusal::SenderIsNotCaller);
    }
    let key = key.ok_or(SubmissionRefusal::UnknownSigningKey)?;
    if key.key_use != KeyUse::Sig {
        return Err(SubmissionRefusal::NotASigningKey);
    }
    match key.status {
        KeyStatus::Active => Ok(()),
        KeyStatus::Retired => Err(SubmissionRefusal::SigningKeyRetired),
        KeyStatus::Revoked => Err(SubmissionRefusal::SigningKeyRevoked),
    }
}

/// What [`check_submission`] decides on: the verified envelope's facts and
/// what the store holds about them.
pub struct SubmissionFacts<'a> {
    /// The sending school (the caller's institution, the envelope's `iss`).
    pub sender: &'a Brin,
    /// The envelope's `iat` (seconds since the epoch).
    pub issued_at: i64,
    /// The recipient (`aud`), if it is a registered institution.
    pub recipient: Option<InstitutionFacts>,
    /// The envelope's `aud`.
    pub recipient_brin: &'a Brin,
    /// The application the envelope names, if it exists.
    pub application: Option<ApplicationOnRecord>,
    /// A package stored earlier under the envelope's `jti`: whether it is
    /// this very envelope from this sender.
    pub earlier: Option<bool>,
    /// The sections' clear headers, or what is wrong with their form.
    pub sections: Result<Vec<SealedSection>, SubmissionRefusal>,
    /// The recipient's encryption keys the headers name, by `kid`.
    pub recipient_keys: &'a BTreeMap<String, KeyFacts>,
    /// The sender's recorded inspections of the student's dossier, when
    /// the region requires one (`None`: not required).
    pub inspections: Option<&'a [InspectionRecord]>,
    /// The consent in force, from the sender's own ledger.
    pub consent: &'a dyn ConsentState,
    /// The lawful basis each section travels on (the region's settings).
    pub basis_of: &'a dyn Fn(Section) -> LawfulBasis,
    /// The sections submitted.
    pub submitted: Vec<Section>,
}

/// What an accepted submission is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// A new package: store it and answer a new receipt.
    New,
    /// The same envelope again: answer the first receipt.
    Resubmission,
}

/// Whether a submission whose signature verified may be accepted at `now`:
/// the envelope's time, recipient and application; the `jti` (an identical
/// resubmission is admitted as such before the sections are looked at);
/// then each section's form, its sealing for an active key of the
/// recipient, the student's inspection and its lawful basis.
pub fn check_submission(facts: &SubmissionFacts<'_>, now: DateTime<Utc>) -> Result<Admission, SubmissionRefusal> {
    check_envelope(facts, now)?;
    match facts.earlier {
        Some(true) => return Ok(Admission::Resubmission),
        Some(false) => return Err(SubmissionRefusal::Replay),
        None => {}
    }
    let sealed = facts.sections.as_ref().map_err(Clone::clone)?;
    sealed_for_the_recipient(sealed, facts.recipient_keys)?;
    if let Some(records) = facts.inspections {
        // Only the sender's own inspections are passed in: another
        // school's record says nothing about what this school's student saw.
        if !inspected(records, now) {
            return Err(SubmissionRefusal::NotInspected);
        }
    }
    for section in &facts.submitted {
        section_allowed(*section, (facts.basis_of)(*section), facts.consent).map_err(SubmissionRefusal::NotAllowed)?;
    }
    Ok(Admission::New)
}

/// The envelope's time, recipient and application.
fn check_envelope(facts: &SubmissionFacts<'_>, now: DateTime<Utc>) -> Result<(), SubmissionRefusal> {
    let age = now.timestamp() - facts.issued_at;
    if age < -MAX_CLOCK_AHEAD_SECS {
        return Err(SubmissionRefusal::IssuedInFuture);
    }
    if age > MAX_ENVELOPE_AGE_SECS {
        return Err(SubmissionRefusal::TooOld);
    }
    match facts.recipient {
        Some(i) if i.status == InstitutionStatus::Active && i.sector.is_receiving() => {}
        _ => return Err(SubmissionRefusal::RecipientNotActiveMbo),
    }
    match &facts.application {
        Some(a)
            if &a.receiving == facts.recipient_brin
                && a.status.is_open()
                && a.sending.as_ref().is_none_or(|sending| sending == facts.sender) =>
        {
            Ok(())
        }
        _ => Err(SubmissionRefusal::NoOpenApplication),
    }
}

/// Every section must be sealed for the recipient: its header's `kid`
/// names an *active* encryption key of the recipient (`keys`), and its
/// `alg` is that key's algorithm. A section sealed otherwise could never be
/// opened by the recipient (or was meant for someone else): refused now,
/// rather than when the intaker pulls it.
pub fn sealed_for_the_recipient(
    sections: &[SealedSection],
    keys: &BTreeMap<String, KeyFacts>,
) -> Result<(), SubmissionRefusal> {
    for header in sections {
        let refuse = |rule| SubmissionRefusal::NotSealedForRecipient {
            section: header.section,
            rule,
        };
        let key = keys
            .get(&header.kid)
            .filter(|k| k.key_use == KeyUse::Enc)
            .ok_or(refuse(SealRule::NotARecipientKey))?;
        match key.status {
            KeyStatus::Active => {}
            KeyStatus::Retired => return Err(refuse(SealRule::KeyRetired)),
            KeyStatus::Revoked => return Err(refuse(SealRule::KeyRevoked)),
        }
        if key.alg != header.alg {
            return Err(refuse(SealRule::OtherAlgorithm));
        }
    }
    Ok(())
}

/// Which sections may go out now, decided before anything is read: those
/// allowed by their lawful basis and the consent in force, and the others
/// with the refusal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Releasable {
    pub allowed: Vec<Section>,
    pub refused: Vec<(Section, SectionRefusal)>,
}

/// [`Releasable`] for every section, in [`Section::ALL`]'s order.
pub fn releasable(basis_of: &dyn Fn(Section) -> LawfulBasis, consent: &dyn ConsentState) -> Releasable {
    let mut decided = Releasable {
        allowed: Vec::new(),
        refused: Vec::new(),
    };
    for section in Section::ALL.iter().copied() {
        match section_allowed(section, basis_of(section), consent) {
            Ok(()) => decided.allowed.push(section),
            Err(refusal) => decided.refused.push((section, refusal)),
        }
    }
    decided
}

/// A stored section of a package, as the release sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredSection {
    pub section: Section,
    /// Its consent was withdrawn and its ciphertext deleted.
    pub withdrawn: bool,
}

/// Why a section of a package was not released.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WithholdReason {
    #[error("{0}")]
    Refused(SectionRefusal),
    #[error("consent withdrawn")]
    Withdrawn,
}

/// What a pull hands out: the sections released, in the order stored, and
/// the package's sections withheld, with the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Release {
    pub released: Vec<Section>,
    pub withheld: Vec<(Section, WithholdReason)>,
}

/// The release of a package's `stored` sections under `decided`: a
/// withdrawn section is withheld as such (whatever was decided), an allowed
/// one released, a refused one withheld with its refusal; a section the
/// package does not hold is in neither list.
pub fn release(decided: &Releasable, stored: &[StoredSection]) -> Release {
    let mut withheld: Vec<(Section, WithholdReason)> = decided
        .refused
        .iter()
        .filter(|(section, _)| stored.iter().any(|s| s.section == *section))
        .map(|(section, refusal)| (*section, WithholdReason::Refused(*refusal)))
        .collect();
    let mut released = Vec::new();
    for stored in stored {
        if stored.withdrawn {
            withheld.retain(|(section, _)| *section != stored.section);
            withheld.push((stored.section, WithholdReason::Withdrawn));
        } else if decided.allowed.contains(&stored.section) {
            released.push(stored.section);
        }
    }
    Release { released, withheld }
}

#[cfg(test)]
mod tests;
