//! The consent and inspection ledger. The vo school's system records that
//! the student and/or parents inspected the dossier (inzage), and that the
//! student — or a parent, under 16 — gave or withdrew consent for a section
//! to go to one mbo. Every event is appended, never changed; the state in
//! force is derived from the events at the moment it is asked for. Each
//! event returns a receipt signed by the broker that the school hands to
//! the student and anyone can check with `GET /v1/broker/jwks`.
//!
//! The date of birth is used to check who may consent and then dropped:
//! the broker keeps only whether the student was under 16 that day.
//!
//! Every record belongs to the school that recorded it, and each school
//! keeps its own ledger of a student. Who may record or read is decided by
//! the domain on a [`Resource::StudentLedger`] found inside the audited
//! transaction ([`ledger_of_student`]); a school that is not party to the
//! student gets the 404 of a student nobody knows. See
//! `doorstroom_domain::authz`, "The consent and inspection ledger".

use actix_web::{HttpResponse, post, web};
use chrono::{DateTime, NaiveDate, Utc};
use doorstroom_domain::{
    Action, AuditEvent, Brin, CONSENT_PURPOSE, ConsentEventKind, ConsentMethod, GivenBy, InspectedBy,
    InstitutionStatus, Principal, Pseudonym, Purpose, Resource, ResourceRef, Section, StudentNumber, WithdrawOutcome,
    check_consent_giver, check_consent_recipient,
};
use doorstroom_store::consents::{self, ConsentEventRow, NewConsentEvent};
use doorstroom_store::inspections::{self, InspectionRow, NewInspection};
use doorstroom_store::{DbConn, applications, audit, institutions, packages};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::access::{Access, Located, body_or_reject, perform};
use crate::auth::{Caller, SystemCaller};
use crate::error::{ApiError, Problem};
use crate::extract::Json;
use crate::state::AppState;
use doorstroom_domain::{ResourceKind, SideEvent};

/// How far ahead of the broker's clock a recorded time may lie.
const CLOCK_SKEW_SECS: i64 = 5 * 60;

fn rule(pointer: &str, err: impl std::fmt::Display) -> ApiError {
    ApiError::invalid(pointer, err.to_string())
}

/// A short free text (evidence reference, notice version), or 422 at `/<what>`.
fn label(what: &'static str, raw: &str) -> Result<String, ApiError> {
    doorstroom_domain::short_text(what, raw).map_err(|e| ApiError::field(&format!("/{what}"), e))
}

/// Recording an inspection (inzage).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordInspection {
    pub student_number: StudentNumber,
    pub inspected_at: DateTime<Utc>,
    pub inspected_by: InspectedBy,
    /// Whether the student or parents added remarks afterwards.
    pub remarks_added: bool,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct InspectionView {
    pub id: Uuid,
    pub school: String,
    pub inspected_at: DateTime<Utc>,
    pub inspected_by: String,
    pub remarks_added: bool,
    pub recorded_at: DateTime<Utc>,
}

impl From<InspectionRow> for InspectionView {
    fn from(row: InspectionRow) -> Self {
        Self {
            id: row.id,
            school: row.school.to_string(),
            inspected_at: row.at,
            inspected_by: row.inspected_by.as_str().to_owned(),
            remarks_added: row.remarks_added,
            recorded_at: row.recorded_at,
        }
    }
}

fn own_institution(caller: &Caller) -> Result<Brin, ApiError> {
    caller.principal.institution().cloned().ok_or(ApiError::Forbidden)
}

/// Locates a student's ledger for the policy: who is party to it. With a
/// `recipient` (consent), the schools that send for the student to that
/// recipient and those that recorded consent for it; without (inspections,
/// history), the schools that send for the student anywhere and those that
/// recorded anything about it.
///
/// A recipient that is no registered active mbo has no applications, so
/// nobody would be party and even the student's own school would get 404
/// for a typing error; then the schools sending anywhere count, and the
/// request goes on to be refused with its 422 (the registry is public, so
/// that answer tells a school nothing about the student).
pub fn ledger_of_student(
    student: Pseudonym,
    recipient: Option<Brin>,
) -> impl FnOnce(&mut DbConn) -> Result<Option<Located>, ApiError> + Send + 'static {
    move |conn| {
        let recipient = match recipient {
            Some(r) => match institutions::get(conn, &r)? {
                Some(i) if i.status == InstitutionStatus::Active && i.sector.is_receiving() => Some(r),
                _ => None,
            },
            None => None,
        };
        let sending_schools = applications::sending_schools(conn, &student, recipient.as_ref())?;
        let mut owners = consents::owners(conn, &student, recipient.as_ref())?;
        if recipient.is_none() {
            owners.extend(inspections::schools(conn, &student)?);
            owners.sort();
            owners.dedup();
        }
        Ok(Some(Located {
            resource: Resource::StudentLedger {
                sending_schools,
                owners,
            },
            data_subject: Some(student),
        }))
    }
}

/// Records that the student and/or parents inspected the dossier. By
/// default (`exchange.require_inspection`) a package from this school is
/// refused until this school recorded it (another school's record does not
/// count). Only a school that an mbo named as the student's sending school
/// (or that recorded about the student before) may record; any other
/// school gets 404, as for a student nobody knows.
#[utoipa::path(
    tag = "privacy",
    request_body = RecordInspection,
    responses(
        (status = 201, body = InspectionView),
        (status = 404, description = "this school does not send for the student", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("client_certificate" = []))
)]
#[post("/v1/inspections")]
pub async fn record_inspection(
    state: web::Data<AppState>,
    caller: SystemCaller,
    body: Result<Json<RecordInspection>, ApiError>,
) -> Result<HttpResponse, ApiError> {
    let caller = caller.0;
    let body = body_or_reject(
        &state,
        &caller,
        Action::RecordInspection,
        ResourceRef::new(ResourceKind::Inspection, None),
        Purpose::Intake,
        body,
    )
    .await?;
    let own = own_institution(&caller)?;
    let student = state.pseudonym_of(&body.student_number);
    let access = Access::lookup(
        Action::RecordInspection,
        ledger_of_student(student.clone(), None),
        ResourceRef::new(ResourceKind::Inspection, None),
        Purpose::Intake,
    )
    .about(student.clone());
    let recorded_by = doorstroom_domain::ActorRef::of(&caller.principal).to_string();
    let view = perform(&state, &caller, access, move |conn, now| {
        if (body.inspected_at - now).num_seconds() > CLOCK_SKEW_SECS {
            return Err(ApiError::invalid("/inspected_at", "inspected_at: lies in the future"));
        }
        let row = inspections::record(
            conn,
            &NewInspection {
                student,
                school: own,
                at: body.inspected_at,
                inspected_by: body.inspected_by,
                remarks_added: body.remarks_added,
                recorded_at: now,
                recorded_by,
            },
        )?;
        Ok(InspectionView::from(row))
    })
    .await?;
    Ok(HttpResponse::Created().json(view))
}

/// Consent given (or, at `/v1/consents/withdraw`, withdrawn) for sections
/// of the dossier to go to one mbo.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsentRequest {
    pub student_number: StudentNumber,
    /// Used to check who may decide (16 or older: the student; under 16: a
    /// parent or guardian), then dropped.
    pub date_of_birth: NaiveDate,
    /// BRIN of the mbo the consent is for.
    #[schema(value_type = String, pattern = "^[0-9]{2}[A-Z]{2}$", example = "25LX")]
    pub recipient: Brin,
    /// Sections that travel on consent (see `GET /v1/register`).
    pub sections: Vec<Section>,
    pub given_by: GivenBy,
    pub method: ConsentMethod,
    /// Where the school keeps the evidence (form number, file reference); never the evidence itself.
    /// 1 to 200 characters, no control characters.
    #[schema(
        max_length = 200,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"
    )]
    pub evidence_ref: String,
    /// The version of the privacy notice the student or parents were shown.
    /// 1 to 200 characters, no control characters.
    #[schema(
        max_length = 200,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"
    )]
    pub notice_version: String,
    /// When a given consent ends by itself (only when giving).
    #[serde(default)]
    pub valid_until: Option<DateTime<Utc>>,
}

/// The signed receipt of a consent event (fields after ISO/IEC TS 27560).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ConsentReceipt {
    pub receipt_id: Uuid,
    pub event: ConsentEventKind,
    pub sections: Vec<Section>,
    pub recorded_at: DateTime<Utc>,
    /// A JWS (EdDSA, `typ` `doorstroom-consent-receipt+jwt`) by the broker's
    /// key at `/v1/broker/jwks` over `{receipt_id, version, subject,
    /// controller, recipient, purpose, sections, lawful_basis, event, time,
    /// given_by, student_under_16, method, notice_version, valid_until}`;
    /// the claims and their types are in PACKAGE-FORMAT.md §9.3.
    pub receipt: String,
    /// For a withdrawal: the packages whose copy of a section was deleted
    /// before delivery, and those that had already received it.
    #[serde(default)]
    pub deleted_from_packages: Vec<String>,
    #[serde(default)]
    pub delivered_before_withdrawal: Vec<String>,
}

/// The checks common to giving and withdrawing: the unique, sorted
/// sections, and whether the student is under 16 today.
fn check_request(
    conn: &mut DbConn,
    now: DateTime<Utc>,
    state: &AppState,
    request: &ConsentRequest,
) -> Result<(Vec<Section>, bool), ApiError> {
    match institutions::get(conn, &request.recipient)? {
        Some(i) if i.status == InstitutionStatus::Active => {
            check_consent_recipient(i.sector).map_err(|e| rule("/recipient", e))?;
        }
        _ => {
            return Err(ApiError::invalid(
                "/recipient",
                "recipient: not a registered active mbo institution",
            ));
        }
    }
    if request.sections.is_empty() {
        return Err(ApiError::invalid("/sections", "sections: name at least one section"));
    }
    let mut sections = request.sections.clone();
    sections.sort();
    sections.dedup();
    for section in &sections {
        if !state.settings.lawful_basis.of(*section).needs_consent() {
            return Err(ApiError::invalid(
                "/sections",
                format!("sections: {section} does not travel on consent here (see GET /v1/register)"),
            ));
        }
    }
    // The age rule applies on the day of the event, as the day is in the
    // Netherlands (at 23:30 UTC it may already be tomorrow there).
    let dutch_day = now.with_timezone(&chrono_tz::Europe::Amsterdam).date_naive();
    let under_16 = check_consent_giver(request.date_of_birth, dutch_day, request.given_by).map_err(|e| {
        let pointer = match e {
            doorstroom_domain::ConsentRuleError::StudentUnderSixteen
            | doorstroom_domain::ConsentRuleError::StudentDecides => "/given_by",
            _ => "/date_of_birth",
        };
        rule(pointer, e)
    })?;
    Ok((sections, under_16.0))
}

struct Recorded {
    student: Pseudonym,
    under_16: bool,
    sections: Vec<Section>,
}

#[allow(clippy::too_many_arguments)]
fn sign_and_append(
    conn: &mut DbConn,
    now: DateTime<Utc>,
    state: &AppState,
    own: &Brin,
    request: &ConsentRequest,
    kind: ConsentEventKind,
    recorded: &Recorded,
    recorded_by: &str,
) -> Result<(Uuid, String), ApiError> {
    let receipt_id = Uuid::new_v4();
    let lawful_basis: serde_json::Map<String, serde_json::Value> = recorded
        .sections
        .iter()
        .map(|s| {
            (
                s.as_str().to_owned(),
                state.settings.lawful_basis.of(*s).as_str().into(),
            )
        })
        .collect();
    let receipt = state.signer.sign(
        "doorstroom-consent-receipt+jwt",
        &json!({
            "receipt_id": receipt_id,
            "version": "ISO/IEC TS 27560:2023",
            "subject": recorded.student.as_str(),
            "controller": own.as_str(),
            "recipient": request.recipient.as_str(),
            "purpose": CONSENT_PURPOSE,
            "sections": recorded.sections.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
            "lawful_basis": lawful_basis,
            "event": kind.as_str(),
            "time": now.timestamp(),
            "given_by": request.given_by.as_str(),
            "student_under_16": recorded.under_16,
            "method": request.method.as_str(),
            "notice_version": request.notice_version.trim(),
            "valid_until": request.valid_until.map(|t| t.timestamp()),
        }),
    )?;
    let evidence_ref = label("evidence_ref", &request.evidence_ref)?;
    let notice_version = label("notice_version", &request.notice_version)?;
    for (i, section) in recorded.sections.iter().enumerate() {
        consents::append(
            conn,
            &NewConsentEvent {
                // The first event carries the receipt's id; the others their own.
                id: if i == 0 { receipt_id } else { Uuid::new_v4() },
                student: recorded.student.clone(),
                recipient: request.recipient.clone(),
                school: own.clone(),
                section: *section,
                kind,
                purpose: CONSENT_PURPOSE.to_owned(),
                at: now,
                given_by: request.given_by,
                student_under_16: recorded.under_16,
                method: request.method,
                evidence_ref: evidence_ref.clone(),
                notice_version: notice_version.clone(),
                valid_until: request.valid_until,
                recorded_by: recorded_by.to_owned(),
                receipt: receipt.clone(),
            },
        )?;
    }
    Ok((receipt_id, receipt))
}

/// Giving or withdrawing consent for `student` to go to `recipient`: on the
/// ledger of the schools party to the student at that recipient. The
/// recording school (the actor) and the mbo the consent is for are party to
/// the event.
fn consent_access(student: &Pseudonym, recipient: &Brin) -> Access {
    Access::lookup(
        Action::RecordConsent,
        ledger_of_student(student.clone(), Some(recipient.clone())),
        ResourceRef::new(ResourceKind::Consent, None),
        Purpose::Intake,
    )
    .about(student.clone())
    .also_party(recipient.clone())
}

/// Records that consent was given, for the listed sections to go to one mbo,
/// in this school's own ledger: it counts for this school's packages only.
/// Only a school that the mbo named as the student's sending school (or that
/// recorded consent for that mbo before) may record; any other school gets
/// 404, as for a student nobody knows.
#[utoipa::path(
    tag = "privacy",
    request_body = ConsentRequest,
    responses(
        (status = 201, body = ConsentReceipt),
        (status = 404, description = "this school does not send for the student to the recipient", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "a rule of consent is broken; the detail names it", body = Problem, content_type = "application/problem+json"),
    ),
    security(("client_certificate" = []))
)]
#[post("/v1/consents")]
pub async fn give(
    state: web::Data<AppState>,
    caller: SystemCaller,
    body: Result<Json<ConsentRequest>, ApiError>,
) -> Result<HttpResponse, ApiError> {
    let caller = caller.0;
    let request = body_or_reject(
        &state,
        &caller,
        Action::RecordConsent,
        ResourceRef::new(ResourceKind::Consent, None),
        Purpose::Intake,
        body,
    )
    .await?;
    let own = own_institution(&caller)?;
    let student = state.pseudonym_of(&request.student_number);
    let recorded_by = doorstroom_domain::ActorRef::of(&caller.principal).to_string();
    let signer = state.clone();
    let access = consent_access(&student, &request.recipient);
    let receipt = perform(&state, &caller, access, move |conn, now| {
        let (sections, under_16) = check_request(conn, now, &signer, &request)?;
        if request.valid_until.is_some_and(|until| until <= now) {
            return Err(ApiError::invalid("/valid_until", "valid_until: must lie in the future"));
        }
        let recorded = Recorded {
            student,
            under_16,
            sections,
        };
        let (receipt_id, receipt) = sign_and_append(
            conn,
            now,
            &signer,
            &own,
            &request,
            ConsentEventKind::Given,
            &recorded,
            &recorded_by,
        )?;
        Ok(ConsentReceipt {
            receipt_id,
            event: ConsentEventKind::Given,
            sections: recorded.sections,
            recorded_at: now,
            receipt,
            deleted_from_packages: Vec::new(),
            delivered_before_withdrawal: Vec::new(),
        })
    })
    .await?;
    Ok(HttpResponse::Created().json(receipt))
}

/// Records that consent was withdrawn. It takes effect at once: copies of
/// the sections not yet delivered in the packages this school sent are
/// deleted (each deletion audited), later pulls leave them out, and the
/// mbo's inbox shows the withdrawal. Withdrawing what this school never
/// recorded as given is 404 — the same answer a school gets that does not
/// send for the student, whatever other schools recorded; withdrawing
/// again changes nothing and answers the first withdrawal's receipt.
#[utoipa::path(
    tag = "privacy",
    request_body = ConsentRequest,
    responses(
        (status = 201, body = ConsentReceipt),
        (status = 200, description = "already withdrawn: the earlier receipt", body = ConsentReceipt),
        (status = 404, description = "this school never recorded consent for a listed section, or does not send for the student", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("client_certificate" = []))
)]
#[post("/v1/consents/withdraw")]
pub async fn withdraw(
    state: web::Data<AppState>,
    caller: SystemCaller,
    body: Result<Json<ConsentRequest>, ApiError>,
) -> Result<HttpResponse, ApiError> {
    let caller = caller.0;
    let request = body_or_reject(
        &state,
        &caller,
        Action::RecordConsent,
        ResourceRef::new(ResourceKind::Consent, None),
        Purpose::Intake,
        body,
    )
    .await?;
    let own = own_institution(&caller)?;
    let student = state.pseudonym_of(&request.student_number);
    let recorded_by = doorstroom_domain::ActorRef::of(&caller.principal).to_string();
    let signer = state.clone();
    let principal = caller.principal.clone();
    let request_id = caller.request_id.clone();
    let access = consent_access(&student, &request.recipient);
    let (receipt, created) = perform(&state, &caller, access, move |conn, now| {
        let (sections, under_16) = check_request(conn, now, &signer, &request)?;
        if request.valid_until.is_some() {
            return Err(ApiError::invalid(
                "/valid_until",
                "valid_until: only a given consent has one",
            ));
        }
        // Only the withdrawing school's own ledger: its answer never depends
        // on what another school recorded (no oracle).
        let rows = consents::for_owner_recipient(conn, &student, &own, &request.recipient)?;
        let ledger = doorstroom_app::ledger::ledger_of(&rows);
        let mut to_withdraw = Vec::new();
        for section in &sections {
            match ledger.can_withdraw(&request.recipient, *section, now) {
                WithdrawOutcome::Withdraw => to_withdraw.push(*section),
                WithdrawOutcome::AlreadyWithdrawn => {}
                WithdrawOutcome::NeverGiven => return Err(ApiError::NotFound),
            }
        }
        if to_withdraw.is_empty() {
            // Idempotent: answer the latest withdrawal's receipt, under the
            // id it carries (that of the first event it was recorded with).
            let latest = rows
                .iter()
                .rev()
                .find(|r| r.kind == ConsentEventKind::Withdrawn && sections.contains(&r.section))
                .ok_or(ApiError::NotFound)?;
            let earlier = rows.iter().find(|r| r.receipt == latest.receipt).unwrap_or(latest);
            return Ok((
                ConsentReceipt {
                    receipt_id: earlier.id,
                    event: ConsentEventKind::Withdrawn,
                    sections,
                    recorded_at: earlier.at,
                    receipt: earlier.receipt.clone(),
                    deleted_from_packages: Vec::new(),
                    delivered_before_withdrawal: Vec::new(),
                },
                false,
            ));
        }
        let recorded = Recorded {
            student: student.clone(),
            under_16,
            sections: to_withdraw,
        };
        let (receipt_id, receipt) = sign_and_append(
            conn,
            now,
            &signer,
            &own,
            &request,
            ConsentEventKind::Withdrawn,
            &recorded,
            &recorded_by,
        )?;
        let mut deleted = Vec::new();
        let mut delivered = Vec::new();
        for section in &recorded.sections {
            for withdrawn in packages::withdraw_section(conn, &student, &own, &request.recipient, *section, now)? {
                let side_event = if withdrawn.delivered_before {
                    SideEvent::SectionWithdrawnAfterDelivery
                } else {
                    SideEvent::DeleteWithdrawnSection
                };
                let event = AuditEvent::success(
                    now,
                    &principal,
                    side_event.into(),
                    ResourceRef::new(
                        ResourceKind::PackageSection,
                        Some(format!("{}/{section}", withdrawn.package_id)),
                    ),
                    Purpose::Intake,
                )
                .with_request_id(Some(request_id.clone()))
                .with_data_subject(Some(student.clone()));
                // The package's sender and recipient.
                let parties = [own.clone(), request.recipient.clone()];
                audit::append_related(conn, &event, &parties).map_err(ApiError::audit_failed)?;
                if withdrawn.delivered_before {
                    delivered.push(withdrawn.package_id);
                } else {
                    deleted.push(withdrawn.package_id);
                }
            }
        }
        for list in [&mut deleted, &mut delivered] {
            list.sort();
            list.dedup();
        }
        Ok((
            ConsentReceipt {
                receipt_id,
                event: ConsentEventKind::Withdrawn,
                sections: recorded.sections,
                recorded_at: now,
                receipt,
                deleted_from_packages: deleted,
                delivered_before_withdrawal: delivered,
            },
            true,
        ))
    })
    .await?;
    Ok(if created {
        HttpResponse::Created()
    } else {
        HttpResponse::Ok()
    }
    .json(receipt))
}

/// Asking for a student's history.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HistoryRequest {
    pub student_number: StudentNumber,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ConsentEventView {
    pub receipt_id: Uuid,
    pub recipient: String,
    /// The school that recorded the event (its owner).
    pub school: String,
    pub section: Section,
    pub event: String,
    pub purpose: String,
    pub at: DateTime<Utc>,
    pub given_by: String,
    pub student_under_16: bool,
    pub method: String,
    pub evidence_ref: String,
    pub notice_version: String,
    pub valid_until: Option<DateTime<Utc>>,
}

impl From<ConsentEventRow> for ConsentEventView {
    fn from(row: ConsentEventRow) -> Self {
        Self {
            receipt_id: row.id,
            recipient: row.recipient.to_string(),
            school: row.school.to_string(),
            section: row.section,
            event: row.kind.as_str().to_owned(),
            purpose: row.purpose,
            at: row.at,
            given_by: row.given_by.as_str().to_owned(),
            student_under_16: row.student_under_16,
            method: row.method.as_str().to_owned(),
            evidence_ref: row.evidence_ref,
            notice_version: row.notice_version,
            valid_until: row.valid_until,
        }
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct History {
    pub consents: Vec<ConsentEventView>,
    pub inspections: Vec<InspectionView>,
}

/// A student's consent and inspection history, as far as the caller is
/// party to it: a school's system sees the records its school made, if
/// the school sends for the student (an application names it) or recorded
/// about the student before — any other school gets 404, as for a student
/// nobody knows; an mbo's privacy officer sees what was recorded for the
/// mbo (consent given for it, and the inspections of the schools sending
/// the student to it); the broker's privacy officer sees everything.
#[utoipa::path(
    tag = "privacy",
    request_body = HistoryRequest,
    responses((status = 200, body = History), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("client_certificate" = []), ("bearer" = []))
)]
#[post("/v1/consents/history")]
pub async fn history(
    state: web::Data<AppState>,
    caller: Caller,
    body: Result<Json<HistoryRequest>, ApiError>,
) -> Result<HttpResponse, ApiError> {
    let request = body_or_reject(
        &state,
        &caller,
        Action::ReadConsentHistory,
        ResourceRef::new(ResourceKind::ConsentHistory, None),
        Purpose::Intake,
        body,
    )
    .await?;
    let view = consent_history(&state, &caller, &request.student_number).await?;
    Ok(HttpResponse::Ok().json(view))
}

/// The one consent and inspection history (the API and the web console),
/// scoped as described at [`history`] and audited with the pseudonym.
pub async fn consent_history(
    state: &web::Data<AppState>,
    caller: &Caller,
    student_number: &StudentNumber,
) -> Result<History, ApiError> {
    let student = state.pseudonym_of(student_number);
    let record = ResourceRef::new(ResourceKind::ConsentHistory, None);
    let (access, school) = match &caller.principal {
        // A school's system: on the student's ledger, by who is party to it.
        Principal::System { institution, .. } => (
            Access::lookup(
                Action::ReadConsentHistory,
                ledger_of_student(student.clone(), None),
                record,
                Purpose::Supervision,
            ),
            Some(institution.clone()),
        ),
        // Staff (privacy officers): on their institution, or the broker.
        principal => (
            Access::new(
                Action::ReadConsentHistory,
                principal
                    .institution()
                    .cloned()
                    .map(Resource::Institution)
                    .unwrap_or(Resource::Broker),
                record,
                Purpose::Supervision,
            ),
            None,
        ),
    };
    let scope = caller.principal.institution().cloned();
    perform(state, caller, access.about(student.clone()), move |conn, _| {
        let (consents, inspections) = match school {
            Some(school) => (
                consents::for_owner(conn, &student, &school)?,
                inspections::for_school(conn, &student, &school)?,
            ),
            None => ledger_in_scope(conn, &student, scope.as_ref())?,
        };
        Ok(History {
            consents: consents.into_iter().map(ConsentEventView::from).collect(),
            inspections: inspections.into_iter().map(InspectionView::from).collect(),
        })
    })
    .await
}

/// The ledger records of a student an institution's privacy officer sees:
/// [`doorstroom_app::ledger::ledger_in_scope`].
pub fn ledger_in_scope(
    conn: &mut DbConn,
    student: &Pseudonym,
    scope: Option<&Brin>,
) -> Result<(Vec<ConsentEventRow>, Vec<InspectionRow>), ApiError> {
    Ok(doorstroom_app::ledger::ledger_in_scope(conn, student, scope)?)
}
