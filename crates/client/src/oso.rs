//! OSO gegevensset dossiers in the client (see `doorstroom_oso`): at the
//! sender, an OSO file becomes the sections of a package, its `<inzage>`
//! the inspection record, and optional sections without consent for the
//! mbo stay out; at the receiver, the released sections become an OSO
//! dossier again. Everything here runs at the school: the broker sees
//! sealed sections and the inspection's date, never the dossier.

use chrono::{DateTime, NaiveTime, Utc};
pub use doorstroom_api::consents::{History, InspectionView, RecordInspection};
use doorstroom_domain::{Brin, InspectedBy, Section, StudentNumber, StudentNumberKind};
use doorstroom_jose::SectionInput;
pub use doorstroom_oso::{Dossier, Exported, Inzage, Limits, Mapped, OsoError, StudentId};

use crate::{Client, ClientError, ReceivedDossier};

impl Client {
    /// Records that the student (or a parent or guardian) inspected the
    /// dossier: `POST /v1/inspections`, the call `doorstroom inspection`
    /// makes.
    pub async fn record_inspection(&self, inspection: &RecordInspection) -> Result<InspectionView, ClientError> {
        self.post("/v1/inspections", inspection).await
    }

    /// The student's consent and inspection history as this school
    /// recorded it: `POST /v1/consents/history`.
    pub async fn consent_history(&self, student: &StudentNumber) -> Result<History, ClientError> {
        self.post(
            "/v1/consents/history",
            &serde_json::json!({ "student_number": student }),
        )
        .await
    }
}

/// An OSO dossier made ready to send.
#[derive(Debug)]
pub struct OsoImport {
    /// The sections to seal.
    pub sections: Vec<SectionInput>,
    /// Sections the dossier fills that stay out, with the reason.
    pub left_out: Vec<(Section, String)>,
    /// What the mapping noted (categories opted out or empty).
    pub notes: Vec<String>,
    /// The parents' inspection as our inspection record, when the dossier
    /// says one took place and the school's ledger does not hold it yet.
    pub inspection: Option<RecordInspection>,
    /// The dossier's inspection is already on record (sent before).
    pub inspection_on_record: bool,
}

/// Reads an OSO dossier and maps it (see `doorstroom_oso`).
pub fn read_oso(bytes: &[u8], limits: &Limits) -> Result<(Dossier, Mapped), OsoError> {
    let dossier = doorstroom_oso::parse(bytes, limits)?;
    let mapped = doorstroom_oso::to_sections(&dossier)?;
    Ok((dossier, mapped))
}

/// The student number the dossier gives (`bsn`, else `onderwijsnummer`),
/// checked by its 11-proef; `None` when it gives none or a wrong one
/// (the caller then asks for `--student`). The number is never shown.
pub fn oso_student(dossier: &Dossier) -> Option<StudentNumber> {
    match dossier.student.as_ref()? {
        StudentId::Bsn(n) => StudentNumber::parse(StudentNumberKind::Bsn, n).ok(),
        StudentId::Onderwijsnummer(n) => StudentNumber::parse(StudentNumberKind::Onderwijsnummer, n).ok(),
    }
}

/// The `<inzage>` block as an inspection record: when the dossier says the
/// dossier was inspected on a date, that date (at midnight UTC) by `by`
/// (OSO's inspection is the parents', so a parent unless the school says
/// otherwise); remarks were added when the parents did not agree or gave a
/// reason. The reason itself stays in the dossier (`personal_data`), never
/// with the broker.
pub fn inspection_of(inzage: Option<&Inzage>, student: &StudentNumber, by: InspectedBy) -> Option<RecordInspection> {
    let inzage = inzage?;
    if inzage.inspected != Some(true) {
        return None;
    }
    let date = inzage.date?;
    Some(RecordInspection {
        student_number: student.clone(),
        inspected_at: date.and_time(NaiveTime::MIN).and_utc(),
        inspected_by: by,
        remarks_added: inzage.agreed.as_deref() == Some("Nee") || inzage.reason.is_some(),
    })
}

/// Whether consent for `section` to `recipient` is in force at `now` by
/// this school's own ledger (`history`): the last event for the pair is a
/// consent given that has not run out.
pub fn consent_in_force(history: &History, recipient: &Brin, section: Section, now: DateTime<Utc>) -> bool {
    history
        .consents
        .iter()
        .filter(|e| e.recipient == recipient.as_str() && e.section == section)
        .max_by_key(|e| e.at)
        .is_some_and(|e| e.event == "given" && e.valid_until.is_none_or(|until| until > now))
}

/// The mapped sections for `recipient`: a section whose default lawful
/// basis needs consent and that has none in force in `history` stays out,
/// with a message, as a JSON section would (the broker refuses it
/// otherwise). `toestemming` in the dossier is not consent for this.
pub fn prepare_oso(
    dossier: &Dossier,
    mapped: Mapped,
    student: &StudentNumber,
    history: &History,
    recipient: &Brin,
    by: InspectedBy,
    now: DateTime<Utc>,
) -> OsoImport {
    let mut sections = Vec::new();
    let mut left_out = Vec::new();
    for (section, content) in mapped.sections {
        if section.default_basis().needs_consent() && !consent_in_force(history, recipient, section, now) {
            left_out.push((
                section,
                format!("section {section} needs consent for {recipient}, and none is recorded: left out"),
            ));
        } else {
            sections.push(SectionInput { section, content });
        }
    }
    let inspection = inspection_of(dossier.inzage.as_ref(), student, by);
    // Sending the same dossier again (to another mbo, or after a refusal)
    // records its inspection once.
    let inspection_on_record = inspection.as_ref().is_some_and(|record| {
        history
            .inspections
            .iter()
            .any(|seen| seen.inspected_at == record.inspected_at && seen.inspected_by == record.inspected_by.as_str())
    });
    OsoImport {
        sections,
        left_out,
        notes: mapped.notes,
        inspection: inspection.filter(|_| !inspection_on_record),
        inspection_on_record,
    }
}

/// The released OSO-sourced sections of a received dossier as an OSO
/// 2019.1 document (see `doorstroom_oso::export`).
pub fn export_oso(dossier: &ReceivedDossier, limits: &Limits) -> Result<Exported, OsoError> {
    doorstroom_oso::export(&dossier.sections, limits)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use chrono::{Duration, NaiveDate, TimeZone};
    use doorstroom_api::consents::ConsentEventView;
    use uuid::Uuid;

    use super::*;

    fn event(
        recipient: &str,
        section: Section,
        event: &str,
        at: DateTime<Utc>,
        until: Option<DateTime<Utc>>,
    ) -> ConsentEventView {
        ConsentEventView {
            receipt_id: Uuid::new_v4(),
            recipient: recipient.into(),
            school: "07AB".into(),
            section,
            event: event.into(),
            purpose: "transfer".into(),
            at,
            given_by: "student".into(),
            student_under_16: false,
            method: "paper_form".into(),
            evidence_ref: "f-1".into(),
            notice_version: "v3".into(),
            valid_until: until,
        }
    }

    #[test]
    fn consent_is_in_force_by_the_last_event_for_the_mbo_and_section() {
        let now = Utc.with_ymd_and_hms(2027, 3, 1, 12, 0, 0).unwrap();
        let mbo = Brin::parse("25LX").unwrap();
        let day = Duration::days(1);
        let history = |consents| History {
            consents,
            inspections: Vec::new(),
        };
        let given = history(vec![event("25LX", Section::SupportNeeds, "given", now - day, None)]);
        assert!(consent_in_force(&given, &mbo, Section::SupportNeeds, now));
        assert!(!consent_in_force(&given, &mbo, Section::CareerPortfolio, now));
        assert!(!consent_in_force(
            &given,
            &Brin::parse("27GH").unwrap(),
            Section::SupportNeeds,
            now
        ));
        let withdrawn = history(vec![
            event("25LX", Section::SupportNeeds, "withdrawn", now - day, None),
            event("25LX", Section::SupportNeeds, "given", now - day * 2, None),
        ]);
        assert!(!consent_in_force(&withdrawn, &mbo, Section::SupportNeeds, now));
        let ran_out = history(vec![event(
            "25LX",
            Section::SupportNeeds,
            "given",
            now - day * 2,
            Some(now - day),
        )]);
        assert!(!consent_in_force(&ran_out, &mbo, Section::SupportNeeds, now));
    }

    #[test]
    fn the_inzage_block_is_an_inspection_only_when_it_says_one_took_place() {
        let student = StudentNumber::parse(StudentNumberKind::Bsn, "123456782").unwrap();
        let inzage = Inzage {
            inspected: Some(true),
            date: NaiveDate::from_ymd_opt(2027, 2, 10),
            agreed: Some("Ja".into()),
            ..Inzage::default()
        };
        let record = inspection_of(Some(&inzage), &student, InspectedBy::Parent).unwrap();
        assert_eq!(record.inspected_at.to_rfc3339(), "2027-02-10T00:00:00+00:00");
        assert_eq!(record.inspected_by, InspectedBy::Parent);
        assert!(!record.remarks_added);
        let disagreed = Inzage {
            agreed: Some("Nee".into()),
            ..inzage.clone()
        };
        assert!(
            inspection_of(Some(&disagreed), &student, InspectedBy::Student)
                .unwrap()
                .remarks_added
        );
        let with_reason = Inzage {
            reason: Some("…".into()),
            ..inzage.clone()
        };
        assert!(
            inspection_of(Some(&with_reason), &student, InspectedBy::Parent)
                .unwrap()
                .remarks_added
        );
        for none in [
            Inzage {
                inspected: Some(false),
                ..inzage.clone()
            },
            Inzage {
                date: None,
                ..inzage.clone()
            },
        ] {
            assert!(inspection_of(Some(&none), &student, InspectedBy::Parent).is_none());
        }
        assert!(inspection_of(None, &student, InspectedBy::Parent).is_none());
    }
}
