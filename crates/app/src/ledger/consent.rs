//! Giving and withdrawing consent, each with a receipt signed by the
//! broker.

use doorstroom_api::consents::{ConsentReceipt, ConsentRequest};
use doorstroom_domain::transparency::may_withdraw;
use doorstroom_domain::{
    Action, ActorRef, Brin, CONSENT_PURPOSE, CheckedConsent, ConsentAsk, ConsentEventKind, ConsentMethod,
    FeedEventKind, GivenBy, InstitutionStatus, LawfulBases, Pseudonym, Purpose, ResourceKind, ResourceRef, Section,
    SideEvent, check_consent_request, sections_to_withdraw, short_text,
};
use doorstroom_store::consents::{self, ConsentEventRow, NewConsentEvent};
use doorstroom_store::{institutions, packages};
use serde_json::json;
use uuid::Uuid;

use super::{ledger_of, ledger_of_student, own_institution};
use crate::events::{Emit, emit};
use crate::{Access, App, AppError, Caller, Ctx, Side, perform_in};

/// Consent given or withdrawn, as the school's system asked it.
pub struct ConsentCommand {
    pub request: ConsentRequest,
}

/// What a withdrawal answers.
#[derive(Debug)]
pub struct Withdrawal {
    pub receipt: ConsentReceipt,
    /// Whether it was recorded now; `false`: every section was withdrawn
    /// already, and the receipt is the earlier withdrawal's.
    pub recorded: bool,
}

/// Records that consent was given, for the listed sections to go to one
/// mbo, in the recording school's own ledger: it counts for this school's
/// packages only. Only a school that the mbo named as the student's
/// sending school (or that recorded consent for that mbo before) may
/// record; any other school gets "not found", as for a student nobody
/// knows. The rules of the request are the domain's
/// ([`check_consent_request`]). Records `record_consent` about the
/// student, related to the mbo.
pub fn give_consent(app: &App, caller: Caller<'_>, command: ConsentCommand) -> Result<ConsentReceipt, AppError> {
    let own = own_institution(caller)?;
    let student = app.pseudonym_of(&command.request.student_number);
    let access = consent_access(&student, &command.request.recipient);
    perform_in(&app.store, app.clock.now(), caller, access, |ctx| {
        let checked = check(ctx, &app.rules.lawful_basis, &command, ConsentEventKind::Given)?;
        let recording = Recording {
            app,
            own: &own,
            student: &student,
            fields: Fields::of(&command.request),
            kind: ConsentEventKind::Given,
            under_16: checked.under_16.0,
        };
        let (receipt_id, receipt) = recording.sign_and_append(ctx, &checked.sections)?;
        Ok(ConsentReceipt {
            receipt_id,
            event: ConsentEventKind::Given,
            sections: checked.sections,
            recorded_at: ctx.now,
            receipt,
            deleted_from_packages: Vec::new(),
            delivered_before_withdrawal: Vec::new(),
        })
    })
}

/// The withdrawal itself, whoever asked for it (the school, or the student
/// on their page): the signed ledger event, then the undelivered copies
/// of the sections deleted from the school's packages to `recipient`.
fn record_withdrawal(
    ctx: &mut Ctx<'_>,
    recording: &Recording<'_>,
    recipient: &Brin,
    to_withdraw: Vec<Section>,
) -> Result<Withdrawal, AppError> {
    let (receipt_id, receipt) = recording.sign_and_append(ctx, &to_withdraw)?;
    let (deleted, delivered) = withdraw_from_packages(ctx, recording.student, recording.own, recipient, &to_withdraw)?;
    Ok(Withdrawal {
        receipt: ConsentReceipt {
            receipt_id,
            event: ConsentEventKind::Withdrawn,
            sections: to_withdraw,
            recorded_at: ctx.now,
            receipt,
            deleted_from_packages: deleted,
            delivered_before_withdrawal: delivered,
        },
        recorded: true,
    })
}

/// Records that consent was withdrawn. It takes effect at once: copies of
/// the sections not yet delivered in the packages this school sent are
/// deleted (each deletion recorded as `delete_withdrawn_section`, a copy
/// already delivered as `section_withdrawn_after_delivery`, related to the
/// school and the mbo), later pulls leave them out, and the mbo's inbox
/// shows the withdrawal. Withdrawing what this school never recorded as
/// given is "not found" — the same answer a school gets that does not send
/// for the student, whatever other schools recorded; withdrawing again
/// changes nothing and answers the first withdrawal's receipt. Records
/// `record_consent` about the student, related to the mbo.
pub fn withdraw_consent(app: &App, caller: Caller<'_>, command: ConsentCommand) -> Result<Withdrawal, AppError> {
    let own = own_institution(caller)?;
    let student = app.pseudonym_of(&command.request.student_number);
    let recipient = command.request.recipient.clone();
    let access = consent_access(&student, &recipient);
    let withdrawal = perform_in(&app.store, app.clock.now(), caller, access, |ctx| {
        // Pulls of this student's packages run wholly before or after.
        consents::lock_student(ctx.conn, &student)?;
        let checked = check(ctx, &app.rules.lawful_basis, &command, ConsentEventKind::Withdrawn)?;
        // Only the withdrawing school's own ledger: its answer never depends
        // on what another school recorded (no oracle).
        let rows = consents::for_owner_recipient(ctx.conn, &student, &own, &recipient)?;
        let to_withdraw = sections_to_withdraw(&ledger_of(&rows), &recipient, &checked.sections, ctx.now)
            .ok_or(AppError::NotFound)?;
        if to_withdraw.is_empty() {
            return Ok(Withdrawal {
                receipt: earlier_withdrawal(&rows, checked.sections)?,
                recorded: false,
            });
        }
        let recording = Recording {
            app,
            own: &own,
            student: &student,
            fields: Fields::of(&command.request),
            kind: ConsentEventKind::Withdrawn,
            under_16: checked.under_16.0,
        };
        record_withdrawal(ctx, &recording, &recipient, to_withdraw)
    })?;
    Ok(withdrawal)
}

/// A withdrawal from the student's own page: one section, one mbo, and
/// who withdraws (the student from 16, else a parent or guardian).
#[derive(Debug, Clone)]
pub struct LinkWithdrawal {
    /// The link it is made through (named in the evidence reference).
    pub link: Uuid,
    /// The school that issued the link: its ledger is the one withdrawn
    /// from.
    pub school: Brin,
    pub student: Pseudonym,
    pub recipient: Brin,
    pub section: Section,
    pub by: GivenBy,
}

/// Records, from the student's page, that consent was withdrawn: exactly
/// as a school-recorded withdrawal ([`withdraw_consent`]) in the ledger of
/// the school that issued the link — undelivered copies deleted, each
/// deletion audited, the school and the mbo told through the event feed,
/// a receipt signed by the broker. Who may withdraw is decided by the
/// ledger's under-16 flag of the consent in force (the student from 16,
/// a parent or guardian under 16; anyone else 422). Audited as
/// `withdraw_consent_via_link` about the student, related to the mbo.
pub fn withdraw_via_link(app: &App, caller: Caller<'_>, ask: LinkWithdrawal) -> Result<Withdrawal, AppError> {
    let access = Access::lookup(
        Action::WithdrawConsentViaLink,
        ledger_of_student(ask.student.clone(), Some(ask.recipient.clone())),
        ResourceRef::new(ResourceKind::Consent, None),
        Purpose::Transparency,
    )
    .about(ask.student.clone())
    .also_party(ask.recipient.clone());
    let withdrawal = perform_in(&app.store, app.clock.now(), caller, access, |ctx| {
        consents::lock_student(ctx.conn, &ask.student)?;
        let rows = consents::for_owner_recipient(ctx.conn, &ask.student, &ask.school, &ask.recipient)?;
        let given = rows
            .iter()
            .rev()
            .find(|r| r.section == ask.section && r.kind == ConsentEventKind::Given)
            .ok_or(AppError::NotFound)?;
        if !may_withdraw(given.student_under_16, ask.by) {
            return Err(AppError::invalid(
                "/by",
                "from 16 the student withdraws, under 16 a parent or guardian",
            ));
        }
        let to_withdraw = sections_to_withdraw(&ledger_of(&rows), &ask.recipient, &[ask.section], ctx.now)
            .ok_or(AppError::NotFound)?;
        if to_withdraw.is_empty() {
            return Ok(Withdrawal {
                receipt: earlier_withdrawal(&rows, vec![ask.section])?,
                recorded: false,
            });
        }
        let evidence_ref = format!("transparency link {}", ask.link);
        let recording = Recording {
            app,
            own: &ask.school,
            student: &ask.student,
            fields: Fields {
                recipient: &ask.recipient,
                given_by: ask.by,
                method: ConsentMethod::Digital,
                evidence_ref: &evidence_ref,
                notice_version: &given.notice_version,
                valid_until: None,
            },
            kind: ConsentEventKind::Withdrawn,
            under_16: given.student_under_16,
        };
        record_withdrawal(ctx, &recording, &ask.recipient, to_withdraw)
    })?;
    Ok(withdrawal)
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

/// The domain's checks of the request, on the facts read here: the
/// recipient's registration and the day of the event.
fn check(
    ctx: &mut Ctx<'_>,
    bases: &LawfulBases,
    command: &ConsentCommand,
    event: ConsentEventKind,
) -> Result<CheckedConsent, AppError> {
    let request = &command.request;
    let recipient = match institutions::get(ctx.conn, &request.recipient)? {
        Some(i) if i.status == InstitutionStatus::Active => Some(i.sector),
        _ => None,
    };
    let ask = ConsentAsk {
        event,
        sections: &request.sections,
        date_of_birth: request.date_of_birth,
        given_by: request.given_by,
        valid_until: request.valid_until,
    };
    // The age rule applies on the day of the event, as the day is in the
    // Netherlands (at 23:30 UTC it may already be tomorrow there).
    let today = ctx.now.with_timezone(&chrono_tz::Europe::Amsterdam).date_naive();
    check_consent_request(&ask, recipient, |section| bases.of(section), ctx.now, today)
        .map_err(|e| AppError::invalid(e.pointer(), e.to_string()))
}

/// The receipt of the latest withdrawal of one of `sections`, under the id
/// it carries (that of the first event it was recorded with): the answer to
/// withdrawing again.
fn earlier_withdrawal(rows: &[ConsentEventRow], sections: Vec<Section>) -> Result<ConsentReceipt, AppError> {
    let latest = rows
        .iter()
        .rev()
        .find(|r| r.kind == ConsentEventKind::Withdrawn && sections.contains(&r.section))
        .ok_or(AppError::NotFound)?;
    let earlier = rows.iter().find(|r| r.receipt == latest.receipt).unwrap_or(latest);
    Ok(ConsentReceipt {
        receipt_id: earlier.id,
        event: ConsentEventKind::Withdrawn,
        sections,
        recorded_at: earlier.at,
        receipt: earlier.receipt.clone(),
        deleted_from_packages: Vec::new(),
        delivered_before_withdrawal: Vec::new(),
    })
}

/// Takes the withdrawn `sections` out of the packages `own` sent the
/// student to `recipient`: a copy not yet delivered is deleted, one
/// delivered is kept (it cannot be called back); each is recorded. Returns
/// the packages of each, sorted.
fn withdraw_from_packages(
    ctx: &mut Ctx<'_>,
    student: &Pseudonym,
    own: &Brin,
    recipient: &Brin,
    sections: &[Section],
) -> Result<(Vec<String>, Vec<String>), AppError> {
    let mut deleted = Vec::new();
    let mut delivered = Vec::new();
    let mut withdrawn_copies = Vec::new();
    for section in sections {
        for withdrawn in packages::withdraw_section(ctx.conn, student, own, recipient, *section, ctx.now)? {
            let side_event = if withdrawn.delivered_before {
                SideEvent::SectionWithdrawnAfterDelivery
            } else {
                SideEvent::DeleteWithdrawnSection
            };
            let copy = format!("{}/{section}", withdrawn.package_id);
            // The package's sender and recipient.
            ctx.record(
                Side::new(side_event, ResourceRef::new(ResourceKind::PackageSection, Some(copy)))
                    .related_to([own.clone(), recipient.clone()]),
            )?;
            withdrawn_copies.push((withdrawn.package_id.clone(), *section));
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
    feed_withdrawals(ctx, own, recipient, &withdrawn_copies)?;
    Ok((deleted, delivered))
}

/// The feed entries of a withdrawal, to the sending school and the mbo:
/// `section.withdrawn` per section taken from a package, and
/// `package.withdrawn` for a package of which no section is left.
fn feed_withdrawals(
    ctx: &mut Ctx<'_>,
    own: &Brin,
    recipient: &Brin,
    copies: &[(String, Section)],
) -> Result<(), AppError> {
    let parties = [own, recipient];
    for (package_id, section) in copies {
        let mut entry = Emit::package(FeedEventKind::SectionWithdrawn, package_id, None);
        entry.section = Some(*section);
        emit(ctx, &parties, entry)?;
    }
    let mut packages: Vec<&str> = copies.iter().map(|(id, _)| id.as_str()).collect();
    packages.sort_unstable();
    packages.dedup();
    for package_id in packages {
        if packages::entirely_withdrawn(ctx.conn, package_id)? {
            emit(
                ctx,
                &parties,
                Emit::package(FeedEventKind::PackageWithdrawn, package_id, None),
            )?;
        }
    }
    Ok(())
}

/// What a consent event records besides its sections: from the school's
/// request, or from the student's page.
struct Fields<'a> {
    recipient: &'a Brin,
    given_by: GivenBy,
    method: ConsentMethod,
    evidence_ref: &'a str,
    notice_version: &'a str,
    valid_until: Option<chrono::DateTime<chrono::Utc>>,
}

impl<'a> Fields<'a> {
    fn of(request: &'a ConsentRequest) -> Self {
        Fields {
            recipient: &request.recipient,
            given_by: request.given_by,
            method: request.method,
            evidence_ref: &request.evidence_ref,
            notice_version: &request.notice_version,
            valid_until: request.valid_until,
        }
    }
}

/// One consent event as the school records it, for each of its sections.
struct Recording<'a> {
    app: &'a App,
    own: &'a Brin,
    student: &'a Pseudonym,
    fields: Fields<'a>,
    kind: ConsentEventKind,
    under_16: bool,
}

impl Recording<'_> {
    /// Signs the receipt over `sections` and appends one event per section
    /// (the first under the receipt's id); returns the receipt and its id.
    fn sign_and_append(&self, ctx: &mut Ctx<'_>, sections: &[Section]) -> Result<(Uuid, String), AppError> {
        let request = &self.fields;
        let receipt_id = Uuid::new_v4();
        let receipt = self.sign(receipt_id, ctx.now, sections)?;
        let evidence_ref = label("evidence_ref", request.evidence_ref)?;
        let notice_version = label("notice_version", request.notice_version)?;
        let recorded_by = ActorRef::of(ctx.principal());
        for (i, section) in sections.iter().enumerate() {
            consents::append(
                ctx.conn,
                &NewConsentEvent {
                    // The first event carries the receipt's id; the others their own.
                    id: if i == 0 { receipt_id } else { Uuid::new_v4() },
                    student: self.student.clone(),
                    recipient: request.recipient.clone(),
                    school: self.own.clone(),
                    section: *section,
                    kind: self.kind,
                    purpose: CONSENT_PURPOSE.to_owned(),
                    at: ctx.now,
                    given_by: request.given_by,
                    student_under_16: self.under_16,
                    method: request.method,
                    evidence_ref: evidence_ref.clone(),
                    notice_version: notice_version.clone(),
                    valid_until: request.valid_until,
                    recorded_by: recorded_by.clone(),
                    receipt: receipt.clone(),
                },
            )?;
        }
        Ok((receipt_id, receipt))
    }

    /// The receipt: a JWS by the broker's key over the claims of
    /// PACKAGE-FORMAT.md §9.3.
    fn sign(
        &self,
        receipt_id: Uuid,
        now: chrono::DateTime<chrono::Utc>,
        sections: &[Section],
    ) -> Result<String, AppError> {
        let request = &self.fields;
        let lawful_basis: serde_json::Map<String, serde_json::Value> = sections
            .iter()
            .map(|s| {
                (
                    s.as_str().to_owned(),
                    self.app.rules.lawful_basis.of(*s).as_str().into(),
                )
            })
            .collect();
        self.app.signer.sign(
            "doorstroom-consent-receipt+jwt",
            &json!({
                "receipt_id": receipt_id,
                "version": "ISO/IEC TS 27560:2023",
                "subject": self.student.as_str(),
                "controller": self.own.as_str(),
                "recipient": request.recipient.as_str(),
                "purpose": CONSENT_PURPOSE,
                "sections": sections.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
                "lawful_basis": lawful_basis,
                "event": self.kind.as_str(),
                "time": now.timestamp(),
                "given_by": request.given_by.as_str(),
                "student_under_16": self.under_16,
                "method": request.method.as_str(),
                "notice_version": request.notice_version.trim(),
                "valid_until": request.valid_until.map(|t| t.timestamp()),
            }),
        )
    }
}

/// A short free text (evidence reference, notice version), or 422 at `/<what>`.
fn label(what: &'static str, raw: &str) -> Result<String, AppError> {
    short_text(what, raw).map_err(|e| AppError::field(&format!("/{what}"), e))
}
