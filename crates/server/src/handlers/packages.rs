//! Dossier packages: submission by the vo school's system, the mbo's inbox,
//! pulling and acknowledging. The broker stores and forwards ciphertext
//! only; it verifies the sender's envelope signature and every rule of
//! the exchange, but it cannot read a section.

use std::collections::BTreeMap;

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use chrono::{DateTime, Duration, Utc};
use doorstroom_domain::{
    Action, AuditEvent, InspectionRecord, InstitutionStatus, KeyStatus, KeyUse, Principal, Purpose, Resource,
    ResourceRef, Role, Section, StaffId, StaffStatus, inspected, section_allowed,
};
use doorstroom_jose::{
    Envelope, PublicJwk, SectionHeader, Submission, check_sections, peek_envelope, sha256_b64url, verify_envelope,
};
use doorstroom_store::packages::{self, NewPackage, NewSection, PackageSummary};
use doorstroom_store::{DbConn, applications, audit, inspections, institutions, keys, staff};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::access::{Access, Located, body_or_reject, perform, reject};
use crate::auth::{Caller, SystemCaller};
use crate::error::{ApiError, Problem};
use crate::extract::{Json, Query, path_param};
use crate::state::AppState;
use doorstroom_app::ledger::consent_ledger;
use doorstroom_domain::{ResourceKind, SideEvent};

/// The header in which an mbo's system names the intaker it acts for.
pub const ON_BEHALF_OF: &str = "x-on-behalf-of";

/// How far a sender's clock may run ahead of the broker's.
const MAX_CLOCK_AHEAD_SECS: i64 = 5 * 60;
/// How old a sealed envelope may be when it is submitted.
const MAX_ENVELOPE_AGE_SECS: i64 = 7 * 24 * 3600;

/// The broker's signed acknowledgement of a submission.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SubmissionReceipt {
    #[schema(format = Uuid)]
    pub package_id: String,
    pub received_at: DateTime<Utc>,
    /// A JWS (EdDSA, `typ` `doorstroom-receipt+jwt`) by the broker's key,
    /// published at `/v1/broker/jwks`, over `{pid, jti, iss, aud,
    /// application, envelope_sha256, sections, received_at}`.
    pub receipt: String,
    /// When the broker will delete the package under the retention rules as
    /// things stand now (it moves earlier once the package is acknowledged
    /// or its application ends; see `GET /v1/applications/{id}`).
    pub delete_after: DateTime<Utc>,
}

/// When the package `id` will be deleted as things stand (the retention
/// rules' due moment); `None` if there is no such package.
pub fn package_delete_after(
    conn: &mut doorstroom_store::DbConn,
    state: &AppState,
    id: &str,
) -> Result<Option<DateTime<Utc>>, ApiError> {
    let policy = crate::purge::policy(&state.settings);
    Ok(doorstroom_store::retention::package_facts(conn, id)?.map(|facts| policy.package_due(&facts)))
}

fn envelope_error(err: doorstroom_jose::JoseError) -> ApiError {
    ApiError::invalid("/envelope", err.to_string())
}

/// Submits a package (`openapi/PACKAGE-FORMAT.md`). The broker checks, in
/// the order of PACKAGE-FORMAT.md §9 and answering the first failure: the
/// body's size (413) and shape (400 not JSON, 422 another shape); the
/// envelope's form; the policy (a vo, vso or pro system sending for its own
/// institution; 404 otherwise); the envelope's sender is the client
/// certificate's institution and its `kid` an *active* signing key of it;
/// the signature; `iat` at most 5 minutes ahead and 7 days behind; the
/// recipient is an active mbo; an open application of the student at that
/// recipient, naming no other vo school (no application, no dossier); the
/// `jti` is new (an identical resubmission answers the first receipt, 200;
/// anything else 409); the sections match the envelope and their limits,
/// and each is sealed for an active encryption key of the recipient (`kid`,
/// with that key's `alg`); the student's inspection of the dossier is
/// recorded by this school (unless configured off); every section is
/// allowed by its lawful basis at this moment. A rule of the envelope or
/// the application is a 422 at `/envelope`, a rule of one section a 422 at
/// `/sections/<name>`. It stores the ciphertext and answers a receipt
/// signed by the broker (PACKAGE-FORMAT.md §9.1).
#[utoipa::path(
    post,
    path = "/v1/packages",
    tag = "exchange",
    request_body = Submission,
    responses(
        (status = 201, body = SubmissionReceipt),
        (status = 200, description = "identical resubmission: the first receipt", body = SubmissionReceipt),
        (status = 409, description = "jti already used for another envelope", body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "a rule of the exchange is broken; the detail names it", body = Problem, content_type = "application/problem+json"),
    ),
    security(("client_certificate" = []))
)]
pub async fn submit(
    state: web::Data<AppState>,
    caller: SystemCaller,
    body: Result<Json<Submission>, ApiError>,
) -> Result<HttpResponse, ApiError> {
    let caller = caller.0;
    let record = ResourceRef::new(ResourceKind::Package, None);
    let submission = body_or_reject(
        &state,
        &caller,
        Action::SubmitPackage,
        record.clone(),
        Purpose::Intake,
        body,
    )
    .await?;
    let Some(own) = caller.principal.institution().cloned() else {
        return Err(ApiError::Forbidden);
    };
    // Unverified, only to find the sender's key and describe the access;
    // `accept` verifies it before relying on it.
    let peeked = match peek_envelope(&submission.envelope) {
        Ok(peeked) => peeked,
        Err(err) => {
            return Err(reject(
                &state,
                &caller,
                Action::SubmitPackage,
                record,
                Purpose::Intake,
                envelope_error(err),
            )
            .await);
        }
    };
    let application_id = Uuid::parse_str(&peeked.application).ok();
    let recipient = peeked.aud.clone();
    let sender = own.clone();
    let locate = move |conn: &mut DbConn| {
        let subject = match application_id {
            Some(id) => applications::get(conn, id)?.map(|a| a.student),
            None => None,
        };
        Ok(Some(Located {
            resource: Resource::Package { sender, recipient },
            data_subject: subject,
        }))
    };
    let access = Access::lookup(
        Action::SubmitPackage,
        locate,
        ResourceRef::new(ResourceKind::Package, Some(peeked.pid.clone())),
        Purpose::Intake,
    );
    // The sections' form and digests, and their clear headers, depend on
    // the submission alone: checked here, outside the write transaction
    // (hashing up to 10 MiB), against the envelope as peeked. `accept`
    // verifies that envelope's signature before it answers with the
    // outcome, in the order of PACKAGE-FORMAT.md §9.
    let sections_checked = check_sections(&peeked, &submission.sections).map_err(|e| {
        // A failure about one section points at it (PACKAGE-FORMAT.md §9).
        let pointer = match e.section() {
            Some(section) => format!("/sections/{section}"),
            None => "/sections".to_owned(),
        };
        ApiError::invalid(&pointer, e.to_string())
    });
    let signer_state = state.clone();
    let (receipt, created) = perform(&state, &caller, access, move |conn, now| {
        accept(conn, now, &signer_state, &own, &peeked, &submission, sections_checked)
    })
    .await?;
    Ok(if created {
        HttpResponse::Created()
    } else {
        HttpResponse::Ok()
    }
    .json(receipt))
}

/// The checks and the storing of a submission, in one transaction.
fn accept(
    conn: &mut DbConn,
    now: DateTime<Utc>,
    state: &AppState,
    own: &doorstroom_domain::Brin,
    peeked: &Envelope,
    submission: &Submission,
    sections_checked: Result<Vec<SectionHeader>, ApiError>,
) -> Result<(SubmissionReceipt, bool), ApiError> {
    if &peeked.iss != own {
        return Err(ApiError::invalid(
            "/envelope",
            "envelope: iss is not the institution of the client certificate",
        ));
    }
    let key = keys::get(conn, own, &peeked.kid)?
        .ok_or_else(|| ApiError::invalid("/envelope", "envelope: kid is not a registered key of the sender"))?;
    if key.key_use != KeyUse::Sig {
        return Err(ApiError::invalid("/envelope", "envelope: kid is not a signing key"));
    }
    match key.status {
        KeyStatus::Active => {}
        KeyStatus::Retired => return Err(ApiError::invalid("/envelope", "envelope: the signing key is retired")),
        KeyStatus::Revoked => return Err(ApiError::invalid("/envelope", "envelope: the signing key is revoked")),
    }
    let jwk: serde_json::Value =
        serde_json::from_str(&key.jwk).map_err(|e| ApiError::Internal(format!("stored JWK unreadable: {e}")))?;
    let sender_key = PublicJwk::parse(&jwk).map_err(|e| ApiError::Internal(format!("stored JWK invalid: {e}")))?;
    let envelope = verify_envelope(&submission.envelope, &sender_key).map_err(envelope_error)?;
    let age = now.timestamp() - envelope.iat;
    if age < -MAX_CLOCK_AHEAD_SECS {
        return Err(ApiError::invalid("/envelope", "envelope: iat lies in the future"));
    }
    if age > MAX_ENVELOPE_AGE_SECS {
        return Err(ApiError::invalid(
            "/envelope",
            "envelope: iat is more than 7 days old; seal the package anew",
        ));
    }

    match institutions::get(conn, &envelope.aud)? {
        Some(i) if i.status == InstitutionStatus::Active && i.sector.is_receiving() => {}
        _ => {
            return Err(ApiError::invalid(
                "/envelope",
                "envelope: aud is not an active mbo institution",
            ));
        }
    }
    let application = Uuid::parse_str(&envelope.application)
        .ok()
        .map(|id| applications::get(conn, id))
        .transpose()?
        .flatten();
    let application = match application {
        Some(a)
            if a.receiving == envelope.aud
                && a.status.is_open()
                && a.sending.as_ref().is_none_or(|sending| sending == own) =>
        {
            a
        }
        _ => {
            return Err(ApiError::invalid(
                "/envelope",
                "envelope: no open application of this student at the recipient names this school; \
                 a dossier only follows an application",
            ));
        }
    };

    let envelope_sha256 = sha256_b64url(&submission.envelope);
    if let Some(earlier) = packages::by_jti(conn, &envelope.jti)? {
        if earlier.envelope_sha256 == envelope_sha256 && earlier.sender == *own {
            let delete_after = package_delete_after(conn, state, &earlier.id)?.ok_or(ApiError::NotFound)?;
            let receipt = SubmissionReceipt {
                package_id: earlier.id,
                received_at: earlier.submitted_at,
                receipt: earlier.receipt,
                delete_after,
            };
            return Ok((receipt, false));
        }
        return Err(ApiError::Conflict("envelope: jti was already used (replay)".into()));
    }

    // Checked before the transaction against the peeked envelope, which is
    // the verified one: the same signed bytes.
    if envelope != *peeked {
        return Err(ApiError::Internal(
            "the verified envelope differs from the peeked one".into(),
        ));
    }
    let headers = sections_checked?;
    sealed_for_the_recipient(conn, &envelope.aud, &headers)?;
    if state.settings.exchange.require_inspection {
        // Only this school's own inspections count: another school's record
        // says nothing about what this school's student saw.
        let records: Vec<InspectionRecord> = inspections::for_school(conn, &application.student, own)?
            .into_iter()
            .map(|row| InspectionRecord {
                at: row.at,
                by: row.inspected_by,
                remarks_added: row.remarks_added,
            })
            .collect();
        if !inspected(&records, now) {
            return Err(ApiError::invalid(
                "/envelope",
                "application: the student's (or parents') inspection of the dossier is not recorded yet \
                 (POST /v1/inspections)",
            ));
        }
    }
    // The sender's own ledger, never another school's.
    let ledger = consent_ledger(conn, &application.student, own, &envelope.aud)?;
    let consent = ledger.for_recipient(&envelope.aud, now);
    for section in submission.sections.keys() {
        section_allowed(*section, state.settings.lawful_basis.of(*section), &consent)
            .map_err(|e| ApiError::invalid(&format!("/sections/{section}"), e.to_string()))?;
    }

    let receipt = state.signer.sign(
        "doorstroom-receipt+jwt",
        &json!({
            "pid": envelope.pid,
            "jti": envelope.jti,
            "iss": envelope.iss.as_str(),
            "aud": envelope.aud.as_str(),
            "application": envelope.application,
            "envelope_sha256": envelope_sha256,
            "sections": envelope.sections.iter().map(|e| e.name.as_str()).collect::<Vec<_>>(),
            "received_at": now.timestamp(),
        }),
    )?;
    let package = NewPackage {
        id: envelope.pid.clone(),
        application_id: application.id,
        sender: own.clone(),
        recipient: envelope.aud.clone(),
        student: application.student,
        jti: envelope.jti.clone(),
        envelope: submission.envelope.clone(),
        envelope_sha256,
        sender_kid: envelope.kid.clone(),
        receipt: receipt.clone(),
        submitted_at: now,
    };
    let sections: Vec<NewSection> = envelope
        .sections
        .iter()
        .filter_map(|entry| {
            submission.sections.get(&entry.name).map(|token| NewSection {
                section: entry.name,
                ciphertext: token.clone(),
                size: i64::try_from(entry.size).unwrap_or(i64::MAX),
                sha256: entry.sha256.clone(),
            })
        })
        .collect();
    packages::insert(conn, &package, &sections)?;
    let delete_after = package_delete_after(conn, state, &envelope.pid)?.ok_or(ApiError::NotFound)?;
    Ok((
        SubmissionReceipt {
            package_id: envelope.pid,
            received_at: now,
            receipt,
            delete_after,
        },
        true,
    ))
}

/// Every section must be sealed for the recipient: its clear header's `kid`
/// names an encryption key registered to `recipient` with status
/// `active`, and its `alg` is that key's algorithm (`enc` is A256GCM for
/// every key, which [`check_sections`] already holds it to). A section
/// sealed for another institution's key, an unknown, retired or revoked
/// key, or with another algorithm could never be opened by the recipient
/// (or was meant for someone else): it is refused here, without
/// decrypting, rather than when the intaker pulls it. Like the sender's
/// key, the recipient's keys are read in the submission's transaction, so
/// a key retired or revoked meanwhile is seen.
fn sealed_for_the_recipient(
    conn: &mut DbConn,
    recipient: &doorstroom_domain::Brin,
    headers: &[SectionHeader],
) -> Result<(), ApiError> {
    let mut known: BTreeMap<&str, Option<keys::InstitutionKey>> = BTreeMap::new();
    for header in headers {
        let section = header.section;
        let refuse =
            |rule: &str| ApiError::invalid(&format!("/sections/{section}"), format!("section {section}: {rule}"));
        let key = match known.get(header.kid.as_str()) {
            Some(key) => key.clone(),
            None => {
                let key = keys::get(conn, recipient, &header.kid)?.filter(|k| k.key_use == KeyUse::Enc);
                known.insert(header.kid.as_str(), key.clone());
                key
            }
        };
        let Some(key) = key else {
            return Err(refuse(
                "protected header `kid` is not an encryption key of the recipient",
            ));
        };
        match key.status {
            KeyStatus::Active => {}
            KeyStatus::Retired => return Err(refuse("the recipient key is retired")),
            KeyStatus::Revoked => return Err(refuse("the recipient key is revoked")),
        }
        if key.alg != header.alg {
            return Err(refuse(
                "protected header `alg` is not the algorithm of the recipient key",
            ));
        }
    }
    Ok(())
}

/// The intaker a school system acts for: named in `X-On-Behalf-Of`, an
/// active intaker of the system's own institution. Staff act for
/// themselves, so the header names nobody for them; but a header that is
/// not a staff id is malformed (400) whoever sends it, as the document says.
fn on_behalf_of(req: &HttpRequest, principal: &Principal) -> Result<Option<StaffId>, ApiError> {
    let named = req
        .headers()
        .get(ON_BEHALF_OF)
        .map(|v| {
            v.to_str()
                .ok()
                .and_then(|raw| raw.parse::<StaffId>().ok())
                .ok_or_else(|| ApiError::Malformed {
                    detail: "header X-On-Behalf-Of: must be the id (UUID) of an intaker".into(),
                    pointer: None,
                })
        })
        .transpose()?;
    match (principal, named) {
        (Principal::System { .. }, Some(id)) => Ok(Some(id)),
        (Principal::System { .. }, None) => Err(ApiError::Malformed {
            detail: "header X-On-Behalf-Of: a school system must name the intaker it acts for".into(),
            pointer: None,
        }),
        (_, _) => Ok(None),
    }
}

/// [`on_behalf_of`], with a refusal audited as an attempt at `action`.
async fn acting_for(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    caller: &Caller,
    action: Action,
    record: ResourceRef,
) -> Result<Option<StaffId>, ApiError> {
    match on_behalf_of(req, &caller.principal) {
        Ok(acting_for) => Ok(acting_for),
        Err(err) => Err(reject(state, caller, action, record, Purpose::Intake, err).await),
    }
}

/// Inside the transaction: the named intaker exists, is active and works at
/// the system's institution.
fn check_on_behalf_of(conn: &mut DbConn, principal: &Principal, staff_id: Option<StaffId>) -> Result<(), ApiError> {
    let Some(id) = staff_id else { return Ok(()) };
    let account = staff::get(conn, id)?;
    match account {
        Some(a)
            if a.status == StaffStatus::Active
                && a.role == Role::Intaker
                && a.institution.as_ref() == principal.institution() =>
        {
            Ok(())
        }
        _ => Err(ApiError::invalid(
            "/headers/x-on-behalf-of",
            "X-On-Behalf-Of: not an active intaker of this institution",
        )),
    }
}

/// An intaker a school system may name in `X-On-Behalf-Of`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct IntakerView {
    /// The staff id to put in `X-On-Behalf-Of`.
    pub id: StaffId,
    pub username: String,
    pub display_name: String,
}

/// The active intakers of an mbo, sorted by username: whom its own system
/// may name in `X-On-Behalf-Of` when it lists the inbox, pulls or
/// acknowledges. Only for that mbo's own system (client certificate);
/// anyone else, and an institution that does not exist, gets the same 404,
/// and every attempt is audited.
#[utoipa::path(
    tag = "exchange",
    params(("brin" = String, Path, description = "BRIN of the caller's own institution")),
    responses(
        (status = 200, body = Vec<IntakerView>),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
    security(("client_certificate" = []))
)]
#[get("/v1/institutions/{brin}/intakers")]
pub async fn intakers(
    state: web::Data<AppState>,
    caller: SystemCaller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let caller = caller.0;
    let brin = path_param("brin", &path, doorstroom_domain::Brin::parse)?;
    let access = Access::new(
        Action::ListIntakers,
        Resource::Institution(brin.clone()),
        ResourceRef::new(ResourceKind::Intakers, Some(brin.to_string())),
        Purpose::Intake,
    );
    let listed = perform(&state, &caller, access, move |conn, _| {
        Ok(staff::list(conn, Some(&brin))?
            .into_iter()
            .filter(|a| a.role == Role::Intaker && a.status == StaffStatus::Active)
            .map(|a| IntakerView {
                id: a.id,
                username: a.username.as_str().to_owned(),
                display_name: a.display_name,
            })
            .collect::<Vec<_>>())
    })
    .await?;
    Ok(HttpResponse::Ok().json(listed))
}

/// A package in the inbox: metadata only.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct InboxEntry {
    #[schema(format = Uuid)]
    pub package_id: String,
    pub application_id: Uuid,
    pub sender: String,
    pub submitted_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub sections: Vec<InboxSection>,
    /// When the broker will delete the package under the retention rules as
    /// things stand now: pull it before then.
    pub delete_after: DateTime<Utc>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct InboxSection {
    pub section: Section,
    pub size: i64,
    pub delivered_at: Option<DateTime<Utc>>,
    /// Set when the section was withdrawn (consent withdrawn) and deleted.
    pub withdrawn_at: Option<DateTime<Utc>>,
}

impl InboxEntry {
    fn new(p: &PackageSummary, delete_after: DateTime<Utc>) -> Self {
        Self {
            delete_after,
            package_id: p.id.clone(),
            application_id: p.application_id,
            sender: p.sender.to_string(),
            submitted_at: p.submitted_at,
            delivered_at: p.delivered_at,
            acknowledged_at: p.acknowledged_at,
            sections: p
                .sections
                .iter()
                .map(|s| InboxSection {
                    section: s.section,
                    size: s.size,
                    delivered_at: s.delivered_at,
                    withdrawn_at: s.withdrawn_at,
                })
                .collect(),
        }
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct InboxQuery {
    /// Keyset pagination: packages after this package id.
    pub after: Option<String>,
    /// 1 to 1000, default 100.
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
}

/// The packages waiting for the caller's institution (metadata only). A
/// school system names the intaker it acts for in `X-On-Behalf-Of`. Every
/// listed package is audited with its student's pseudonym.
#[utoipa::path(
    tag = "exchange",
    params(InboxQuery, ("X-On-Behalf-Of" = Option<String>, Header, description = "for a school system: the staff id of the intaker it acts for (see GET /v1/institutions/{brin}/intakers); required for a school system; an intaker acts for themselves")),
    responses((status = 200, body = Vec<InboxEntry>), (status = 422, description = "X-On-Behalf-Of names someone who is not an active intaker of the caller's institution (pointer /headers/x-on-behalf-of; PACKAGE-FORMAT.md §9.2)", body = Problem, content_type = "application/problem+json")),
    security(("client_certificate" = []), ("bearer" = []))
)]
#[get("/v1/inbox")]
pub async fn inbox(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
    query: Query<InboxQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.0;
    let limit = query.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::Malformed {
            detail: "query parameter limit: must be between 1 and 1000".into(),
            pointer: None,
        });
    }
    let acting_for = acting_for(
        &state,
        &req,
        &caller,
        Action::ListInbox,
        ResourceRef::new(ResourceKind::Inbox, None),
    )
    .await?;
    // A caller of no institution (the broker's staff) has no inbox: the
    // policy refuses the broker as the target, and the refusal is audited
    // like any other (403, as the broker's existence is no secret).
    let Some(own) = caller.principal.institution().cloned() else {
        let access = Access::new(
            Action::ListInbox,
            Resource::Broker,
            ResourceRef::new(ResourceKind::Inbox, None),
            Purpose::Intake,
        );
        perform(&state, &caller, access, |_, _| Err::<(), _>(ApiError::Forbidden)).await?;
        return Err(ApiError::Forbidden);
    };
    let access = Access::new(
        Action::ListInbox,
        Resource::Institution(own.clone()),
        ResourceRef::new(ResourceKind::Inbox, Some(own.to_string())),
        Purpose::Intake,
    )
    .on_behalf_of(acting_for);
    let principal = caller.principal.clone();
    let request_id = caller.request_id.clone();
    let state_for_policy = state.clone();
    let entries = perform(&state, &caller, access, move |conn, now| {
        check_on_behalf_of(conn, &principal, acting_for)?;
        let listed = packages::inbox(conn, &own, query.after.as_deref(), limit)?;
        // The listing names students: one audit event per package listed.
        for package in &listed {
            let mut event = AuditEvent::success(
                now,
                &principal,
                SideEvent::ListInboxEntry.into(),
                ResourceRef::new(ResourceKind::Package, Some(package.id.clone())),
                Purpose::Intake,
            )
            .with_request_id(Some(request_id.clone()))
            .with_data_subject(Some(package.student.clone()));
            event.on_behalf_of = acting_for;
            audit::append_related(conn, &event, &[package.sender.clone(), package.recipient.clone()])
                .map_err(ApiError::audit_failed)?;
        }
        let policy = crate::purge::policy(&state_for_policy.settings);
        let mut entries = Vec::with_capacity(listed.len());
        for package in &listed {
            let facts = doorstroom_store::retention::package_facts(conn, &package.id)?.ok_or(ApiError::NotFound)?;
            entries.push(InboxEntry::new(package, policy.package_due(&facts)));
        }
        Ok(entries)
    })
    .await?;
    Ok(HttpResponse::Ok().json(entries))
}

/// A section that was not released, and why.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Withheld {
    pub section: Section,
    pub reason: String,
}

/// A pulled package: the sender's envelope and the sections releasable now.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PulledPackage {
    #[schema(format = Uuid)]
    pub package_id: String,
    pub application_id: Uuid,
    pub sender: String,
    pub submitted_at: DateTime<Utc>,
    /// The sender's signed envelope, as submitted.
    pub envelope: String,
    /// Section name to its token (JWE), for the sections released now.
    #[schema(value_type = std::collections::HashMap<String, String>)]
    pub sections: BTreeMap<Section, String>,
    pub withheld: Vec<Withheld>,
}

fn package_id(raw: &str) -> Result<String, ApiError> {
    path_param("id", raw, |s| {
        Uuid::parse_str(s)
            .map(|u| u.to_string())
            .map_err(|_| doorstroom_domain::ParseError::new("id", "must be a UUID"))
    })
}

fn locate_package(id: String) -> impl FnOnce(&mut DbConn) -> Result<Option<Located>, ApiError> {
    move |conn| {
        Ok(packages::get(conn, &id)?.map(|p| Located {
            resource: Resource::Package {
                sender: p.sender,
                recipient: p.recipient,
            },
            data_subject: Some(p.student),
        }))
    }
}

/// The access to one package by `caller` (for the intaker named in
/// `X-On-Behalf-Of`, when a school system calls), located by its id.
async fn package_access(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    caller: &Caller,
    action: Action,
    id: &str,
) -> Result<(Access, Option<StaffId>), ApiError> {
    let record = ResourceRef::new(ResourceKind::Package, Some(id.to_owned()));
    let acting_for = acting_for(state, req, caller, action, record.clone()).await?;
    let access =
        Access::lookup(action, locate_package(id.to_owned()), record, Purpose::Intake).on_behalf_of(acting_for);
    Ok((access, acting_for))
}

/// Takes a package out: the envelope and the sections that may be released
/// at this moment; the others are listed as withheld, with the reason. Only
/// for the recipient's intakers (or its system acting for one); anyone else
/// gets 404, exactly as for a package that does not exist.
#[utoipa::path(
    tag = "exchange",
    params(("id" = String, Path), ("X-On-Behalf-Of" = Option<String>, Header, description = "for a school system: the staff id of the intaker it acts for (see GET /v1/institutions/{brin}/intakers); required for a school system; an intaker acts for themselves")),
    responses((status = 200, body = PulledPackage), (status = 404, body = Problem, content_type = "application/problem+json"), (status = 422, description = "X-On-Behalf-Of names someone who is not an active intaker of the caller's institution (pointer /headers/x-on-behalf-of; PACKAGE-FORMAT.md §9.2)", body = Problem, content_type = "application/problem+json")),
    security(("client_certificate" = []), ("bearer" = []))
)]
#[get("/v1/packages/{id}")]
pub async fn pull(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = package_id(&path)?;
    let (access, acting_for) = package_access(&state, &req, &caller, Action::PullPackage, &id).await?;
    let principal = caller.principal.clone();
    let request_id = caller.request_id.clone();
    let pulls_per_hour = state.settings.audit.anomaly_pulls_per_hour;
    let lawful = state.settings.lawful_basis.clone();
    let pulled = perform(&state, &caller, access, move |conn, now| {
        check_on_behalf_of(conn, &principal, acting_for)?;
        let package = packages::get(conn, &id)?.ok_or(ApiError::NotFound)?;
        // Decide first what may go, and mark it delivered before reading the
        // ciphertext: the marking locks the rows, so a withdrawal either
        // committed before (and the section is withheld) or waits and then
        // records that the section had been delivered.
        // The consent of the package's sender alone decides (each school
        // keeps its own ledger of the student).
        let ledger = consent_ledger(conn, &package.student, &package.sender, &package.recipient)?;
        let consent = ledger.for_recipient(&package.recipient, now);
        let mut withheld = Vec::new();
        let mut allowed = Vec::new();
        for section in Section::ALL.iter().copied() {
            match section_allowed(section, lawful.of(section), &consent) {
                Ok(()) => allowed.push(section),
                Err(refusal) => withheld.push(Withheld {
                    section,
                    reason: refusal.to_string(),
                }),
            }
        }
        packages::mark_sections_delivered(conn, &id, &allowed, now)?;
        packages::mark_delivered(conn, &id, now)?;
        let alerted = pull_anomaly(conn, now, &principal, &request_id, pulls_per_hour)?;
        let stored = packages::sections(conn, &id)?;
        withheld.retain(|w| stored.iter().any(|s| s.section == w.section));
        let mut released = BTreeMap::new();
        for section in stored {
            if section.withdrawn_at.is_some() {
                withheld.retain(|w| w.section != section.section);
                withheld.push(Withheld {
                    section: section.section,
                    reason: "consent withdrawn".into(),
                });
            } else if allowed.contains(&section.section) {
                released.insert(section.section, section.ciphertext);
            }
        }
        Ok((
            alerted,
            PulledPackage {
                package_id: package.id,
                application_id: package.application_id,
                sender: package.sender.to_string(),
                submitted_at: package.submitted_at,
                envelope: package.envelope,
                sections: released,
                withheld,
            },
        ))
    })
    .await?;
    let (alerted, pulled) = pulled;
    if alerted {
        state.metrics.anomaly("pulls");
    }
    Ok(HttpResponse::Ok().json(pulled))
}

/// The anomaly signal: when this pull takes the actor past the configured
/// number of pulls within an hour, an `anomaly_alert` event goes into the
/// log (once, at the crossing). Returns whether it did.
fn pull_anomaly(
    conn: &mut DbConn,
    now: DateTime<Utc>,
    principal: &Principal,
    request_id: &str,
    threshold: i64,
) -> Result<bool, ApiError> {
    let actor = doorstroom_domain::Actor::from_principal(principal);
    let Some(actor_id) = actor.id.clone() else {
        return Ok(false);
    };
    // This pull's own event is appended after the work; count the earlier ones.
    let earlier = audit::count_actions_since(conn, &actor_id, Action::PullPackage.as_str(), now - Duration::hours(1))?;
    if earlier != threshold {
        return Ok(false);
    }
    let event = AuditEvent::success(
        now,
        principal,
        SideEvent::AnomalyAlert.into(),
        ResourceRef::new(ResourceKind::Actor, Some(actor_id)),
        Purpose::Supervision,
    )
    .with_request_id(Some(request_id.to_owned()))
    .with_outcome(
        doorstroom_domain::Outcome::Success,
        format!("more than {threshold} dossiers pulled within an hour"),
    );
    audit::append(conn, &event).map_err(ApiError::audit_failed)?;
    tracing::warn!(request_id, threshold, "anomaly: unusually many pulls by one actor");
    Ok(true)
}

/// The acknowledgement as recorded.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Acknowledgement {
    #[schema(format = Uuid)]
    pub package_id: String,
    pub acknowledged_at: DateTime<Utc>,
}

/// Acknowledges receipt (idempotent: the first acknowledgement stays).
#[utoipa::path(
    tag = "exchange",
    params(("id" = String, Path), ("X-On-Behalf-Of" = Option<String>, Header, description = "for a school system: the staff id of the intaker it acts for (see GET /v1/institutions/{brin}/intakers); required for a school system; an intaker acts for themselves")),
    responses((status = 200, body = Acknowledgement), (status = 404, body = Problem, content_type = "application/problem+json"), (status = 422, description = "X-On-Behalf-Of names someone who is not an active intaker of the caller's institution (pointer /headers/x-on-behalf-of; PACKAGE-FORMAT.md §9.2)", body = Problem, content_type = "application/problem+json")),
    security(("client_certificate" = []), ("bearer" = []))
)]
#[post("/v1/packages/{id}/acknowledge")]
pub async fn acknowledge(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = package_id(&path)?;
    let (access, acting_for) = package_access(&state, &req, &caller, Action::AcknowledgePackage, &id).await?;
    let principal = caller.principal.clone();
    let by = match acting_for {
        Some(staff) => format!("staff:{staff}"),
        None => doorstroom_domain::ActorRef::of(&caller.principal).to_string(),
    };
    let ack = perform(&state, &caller, access, move |conn, now| {
        check_on_behalf_of(conn, &principal, acting_for)?;
        let package = packages::acknowledge(conn, &id, &by, now)?.ok_or(ApiError::NotFound)?;
        Ok(Acknowledgement {
            package_id: package.id,
            acknowledged_at: package.acknowledged_at.unwrap_or(now),
        })
    })
    .await?;
    Ok(HttpResponse::Ok().json(ack))
}

/// The broker's public signing key(s) as a JWK Set: receipts verify with it.
#[utoipa::path(
    tag = "exchange",
    responses((status = 200, description = "JWK Set", content_type = "application/jwk-set+json", body = Object))
)]
#[get("/v1/broker/jwks")]
pub async fn broker_jwks(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/jwk-set+json")
        .json(json!({"keys": [state.signer.public_jwk()]}))
}
