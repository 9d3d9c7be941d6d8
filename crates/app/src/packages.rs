//! Dossier packages: submission by the vo school's system, the mbo's
//! inbox, pulling and acknowledging, and the intakers an mbo's system may
//! act for. The broker stores and forwards ciphertext only; it verifies
//! the sender's envelope signature and every rule of the exchange
//! (`doorstroom_domain::exchange`), but it cannot read a section.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, Duration, Utc};
use doorstroom_api::packages::{
    Acknowledgement, InboxEntry, InboxSection, IntakerView, PulledPackage, SubmissionReceipt, Withheld,
};
use doorstroom_domain::exchange::{
    self, Admission, ApplicationOnRecord, InstitutionFacts, KeyFacts, SealedSection, SubmissionFacts,
    SubmissionRefusal, check_signer, check_submission, releasable, release,
};
use doorstroom_domain::retention::has_ended;
use doorstroom_domain::{
    Action, Actor, ActorRef, Brin, ConsentLedger, ConsentState, FeedEventKind, InspectionRecord, KeyStatus, KeyUse,
    LawfulBases, NoConsentLedger, PackageFacts, Principal, Purpose, Resource, ResourceKind, ResourceRef,
    RetentionPolicy, Role, SideEvent, StaffId, StaffStatus,
};
use doorstroom_jose::{Envelope, PublicJwk, Submission, check_sections, sha256_b64url, verify_envelope};
use doorstroom_store::applications::{self, Application};
use doorstroom_store::packages::{self, NewPackage, NewSection, Package, PackageSummary};
use doorstroom_store::{DbConn, audit, consents, inspections, institutions, keys, retention, staff};
use serde_json::json;
use uuid::Uuid;

use crate::events::{Emit, emit};
use crate::ledger::consent_ledger;
use crate::spine::access_time;
use crate::{Access, App, AppError, Caller, Ctx, Located, Side, perform_in};

/// The region's rules of the exchange, from the settings.
#[derive(Debug, Clone)]
pub struct ExchangeRules {
    /// A package is refused until the student's inspection is recorded.
    pub require_inspection: bool,
    /// The lawful basis each section travels on.
    pub lawful_basis: LawfulBases,
    /// When packages are deleted (their `delete_after`).
    pub retention: RetentionPolicy,
    /// Pulls by one actor within an hour beyond which an anomaly is logged.
    pub anomaly_pulls_per_hour: i64,
    /// The safety net's deadlines.
    pub deadlines: doorstroom_domain::safety_net::Deadlines,
}

impl From<SubmissionRefusal> for AppError {
    fn from(refusal: SubmissionRefusal) -> Self {
        match refusal {
            SubmissionRefusal::Replay => AppError::Conflict(refusal.to_string()),
            refusal => AppError::Invalid {
                pointer: refusal.pointer(),
                detail: refusal.to_string(),
            },
        }
    }
}

/// A submission: the envelope as read (not yet verified) and the body.
pub struct SubmitPackage {
    pub envelope: Envelope,
    pub submission: Submission,
}

/// An accepted submission: the receipt, and whether this call stored the
/// package (`false`: an identical resubmission, answered with the first
/// receipt).
#[derive(Debug)]
pub struct Submitted {
    pub receipt: SubmissionReceipt,
    pub created: bool,
}

/// Submits a package (`openapi/PACKAGE-FORMAT.md` §9): a vo, vso or pro
/// system sending for its own institution. What needs no transaction is
/// done first: the sections' form (hashing up to 10 MiB), the envelope's
/// signature with the sender's key as cached ([`crate::key_cache`]), and
/// the broker's receipt as it will read if the package is stored. Then, in
/// the transaction, the envelope's signer (the key's status, read there,
/// so that a revocation anywhere counts at once) and the rules of
/// [`exchange::check_submission`] over what the store holds, and the
/// package is stored. The answers and their order are those of doing it
/// all in the transaction. Records `submit_package` about the
/// application's student.
pub fn submit_package(app: &App, caller: Caller<'_>, command: SubmitPackage) -> Result<Submitted, AppError> {
    let own = caller.principal.institution().cloned().ok_or(AppError::Forbidden)?;
    let now = access_time(app.clock.now());
    let sealed = sealed_sections(&command);
    let ahead = Ahead::prepare(app, &own, &command, sealed.is_ok(), now);
    let application_id = Uuid::parse_str(&command.envelope.application).ok();
    let located = Stash::default();
    let (sender, recipient, stash) = (own.clone(), command.envelope.aud.clone(), located.clone());
    let locate = move |conn: &mut DbConn| {
        let application = match application_id {
            Some(id) => applications::get(conn, id)?,
            None => None,
        };
        let subject = application.as_ref().map(|a| a.student.clone());
        stash.put(application);
        Ok(Some(Located {
            resource: Resource::Package { sender, recipient },
            data_subject: subject,
        }))
    };
    let access = Access::lookup(
        Action::SubmitPackage,
        locate,
        ResourceRef::new(ResourceKind::Package, Some(command.envelope.pid.clone())),
        Purpose::Intake,
    )
    .sized(submission_bytes(&command.submission));
    let submitted = perform_in(&app.store, now, caller, access, |ctx| {
        let prepared = Prepared {
            sealed,
            ahead,
            application: located.take(),
        };
        accept(ctx, app, &own, &command, prepared)
    })?;
    Ok(submitted)
}

/// About how many bytes a submission stores: its envelope and sections.
fn submission_bytes(submission: &Submission) -> usize {
    submission.envelope.len() + submission.sections.values().map(String::len).sum::<usize>()
}

/// A value the locating step of an access read, for its work to use in
/// the same transaction instead of reading it again.
struct Stash<T>(Arc<Mutex<Option<T>>>);

impl<T> Default for Stash<T> {
    fn default() -> Self {
        Self(Arc::new(Mutex::new(None)))
    }
}

impl<T> Clone for Stash<T> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<T> Stash<T> {
    fn put(&self, value: T) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(value);
    }

    /// What was put, once; `None` if the locating step did not run.
    fn take(&self) -> Option<T> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).take()
    }
}

/// What a submission brings into its transaction.
struct Prepared {
    sealed: Result<Vec<SealedSection>, SubmissionRefusal>,
    ahead: Ahead,
    /// The application as the locating step read it (`Some(None)`: none).
    application: Option<Option<Application>>,
}

/// The work of a submission done before its transaction.
struct Ahead {
    /// The envelope verified with the sender's key, or why not; `None`
    /// when no active signing key was found before the transaction (the
    /// transaction then refuses, or verifies with the key it reads).
    envelope: Option<Result<Envelope, AppError>>,
    /// The receipt over the verified envelope, signed for storing at this
    /// time (only when the envelope verified and the sections are well
    /// formed: otherwise the submission is refused).
    receipt: Option<(DateTime<Utc>, Result<String, AppError>)>,
    /// The SHA-256 of the envelope as submitted (the idempotency check and
    /// the receipt name it): hashed once, outside the transaction.
    envelope_sha256: String,
}

impl Ahead {
    fn prepare(app: &App, own: &Brin, command: &SubmitPackage, sections_ok: bool, now: DateTime<Utc>) -> Ahead {
        let envelope = verify_ahead(app, own, command);
        let envelope_sha256 = sha256_b64url(&command.submission.envelope);
        let receipt = match &envelope {
            Some(Ok(envelope)) if sections_ok => {
                let claims = receipt_claims(envelope, &envelope_sha256, now);
                Some((now, app.signer.sign(RECEIPT_TYP, &claims)))
            }
            _ => None,
        };
        Ahead {
            envelope,
            receipt,
            envelope_sha256,
        }
    }
}

/// The envelope verified before the transaction, with the sender's active
/// signing key as cached, or read and parsed once and cached. Whether the
/// key may still sign is not decided here: the transaction reads its
/// status. `None` when no active signing key was found (or the read
/// failed): the transaction decides.
fn verify_ahead(app: &App, own: &Brin, command: &SubmitPackage) -> Option<Result<Envelope, AppError>> {
    let kid = command.envelope.kid.as_str();
    let key = match app.keys.get(own, kid) {
        Some(key) => key,
        None => {
            let stored = app.store.read(|conn| keys::get(conn, own, kid)).ok()??;
            if stored.status != KeyStatus::Active || stored.key_use != KeyUse::Sig {
                return None;
            }
            let key = match parse_stored_jwk(&stored.jwk) {
                Ok(key) => Arc::new(key),
                Err(unreadable) => return Some(Err(unreadable)),
            };
            app.keys.insert(own, kid, key.clone());
            key
        }
    };
    Some(verify_with(&key, command))
}

/// A stored JWK, parsed (its `x5c` decoded: the costly part).
fn parse_stored_jwk(stored: &str) -> Result<PublicJwk, AppError> {
    let jwk: serde_json::Value =
        serde_json::from_str(stored).map_err(|e| AppError::Internal(format!("stored JWK unreadable: {e}")))?;
    PublicJwk::parse(&jwk).map_err(|e| AppError::Internal(format!("stored JWK invalid: {e}")))
}

/// The envelope, verified with `key`.
fn verify_with(key: &PublicJwk, command: &SubmitPackage) -> Result<Envelope, AppError> {
    let envelope =
        verify_envelope(&command.submission.envelope, key).map_err(|e| SubmissionRefusal::Envelope(e.to_string()))?;
    // The sections were checked against the envelope as peeked: it must be
    // the verified one (the same signed bytes).
    if envelope != command.envelope {
        return Err(AppError::Internal(
            "the verified envelope differs from the peeked one".into(),
        ));
    }
    Ok(envelope)
}

/// The `typ` of the broker's submission receipt.
const RECEIPT_TYP: &str = "doorstroom-receipt+jwt";

/// The claims of the receipt for `envelope` stored at `received_at`.
fn receipt_claims(envelope: &Envelope, envelope_sha256: &str, received_at: DateTime<Utc>) -> serde_json::Value {
    json!({
        "pid": envelope.pid,
        "jti": envelope.jti,
        "iss": envelope.iss.as_str(),
        "aud": envelope.aud.as_str(),
        "application": envelope.application,
        "envelope_sha256": envelope_sha256,
        "sections": envelope.sections.iter().map(|e| e.name.as_str()).collect::<Vec<_>>(),
        "received_at": received_at.timestamp(),
    })
}

/// The sections' form and digests and their clear headers: they depend on
/// the submission alone. A failure about one section points at it.
fn sealed_sections(command: &SubmitPackage) -> Result<Vec<SealedSection>, SubmissionRefusal> {
    let headers = check_sections(&command.envelope, &command.submission.sections).map_err(|e| {
        let pointer = match e.section() {
            Some(section) => format!("/sections/{section}"),
            None => "/sections".to_owned(),
        };
        SubmissionRefusal::SectionForm {
            pointer,
            detail: e.to_string(),
        }
    })?;
    Ok(headers
        .into_iter()
        .map(|h| SealedSection {
            section: h.section,
            kid: h.kid,
            alg: h.alg,
        })
        .collect())
}

/// The checks and the storing of a submission, in one transaction.
fn accept(
    ctx: &mut Ctx<'_>,
    app: &App,
    own: &Brin,
    command: &SubmitPackage,
    prepared: Prepared,
) -> Result<Submitted, AppError> {
    let rules = &app.rules;
    let Prepared {
        sealed,
        ahead,
        application,
    } = prepared;
    let envelope = verified_envelope(ctx.conn, own, command, ahead.envelope)?;
    let envelope_sha256 = ahead.envelope_sha256;
    let stored = StoredFacts::read(ctx.conn, own, &envelope, sealed.as_deref().ok(), application, rules)?;
    let recipient_consent;
    let consent: &dyn ConsentState = match (&stored.ledger, ctx.now) {
        (Some(ledger), now) => {
            recipient_consent = ledger.for_recipient(&envelope.aud, now);
            &recipient_consent
        }
        (None, _) => &NoConsentLedger,
    };
    let facts = SubmissionFacts {
        sender: own,
        issued_at: envelope.iat,
        recipient: stored.recipient,
        recipient_brin: &envelope.aud,
        application: stored.application.as_ref().map(|a| ApplicationOnRecord {
            receiving: a.receiving.clone(),
            sending: a.sending.clone(),
            status: a.status,
        }),
        earlier: stored
            .earlier
            .as_ref()
            .map(|earlier| earlier.envelope_sha256 == envelope_sha256 && earlier.sender == *own),
        sections: sealed,
        recipient_keys: &stored.recipient_keys,
        inspections: rules.require_inspection.then_some(stored.inspections.as_slice()),
        consent,
        basis_of: &|section| rules.lawful_basis.of(section),
        submitted: command.submission.sections.keys().copied().collect(),
    };
    match (check_submission(&facts, ctx.now)?, stored.earlier, stored.application) {
        (Admission::Resubmission, Some(earlier), _) => Ok(Submitted {
            receipt: SubmissionReceipt {
                delete_after: package_delete_after(ctx.conn, &rules.retention, &earlier.id)?,
                package_id: earlier.id,
                received_at: earlier.submitted_at,
                receipt: earlier.receipt,
            },
            created: false,
        }),
        (Admission::New, None, Some(application)) => {
            let stored = StoredPackage {
                own,
                envelope: &envelope,
                envelope_sha256,
                application,
                receipt: ahead.receipt,
            };
            store_package(ctx, app, &rules.retention, stored, &command.submission)
        }
        _ => Err(AppError::Internal(
            "the submission checks answered against the facts".into(),
        )),
    }
}

/// The envelope, verified with the sender's key: its `iss` is the caller's
/// institution and its `kid` an active signing key of it. The key's use
/// and status are read here, in the transaction (one `SELECT`); its
/// signature was checked before (`ahead`), unless no active key was found
/// then: then it is checked here, with the key as stored now.
fn verified_envelope(
    conn: &mut DbConn,
    own: &Brin,
    command: &SubmitPackage,
    ahead: Option<Result<Envelope, AppError>>,
) -> Result<Envelope, AppError> {
    let peeked = &command.envelope;
    let facts = keys::facts(conn, own, &peeked.kid)?;
    check_signer(own, &peeked.iss, facts.as_ref())?;
    match ahead {
        Some(verified) => verified,
        None => {
            let stored_jwk = keys::get(conn, own, &peeked.kid)?.map(|k| k.jwk).unwrap_or_default();
            verify_with(&parse_stored_jwk(&stored_jwk)?, command)
        }
    }
}

/// What the store holds about a verified envelope, read in the
/// submission's transaction (so a key retired meanwhile is seen).
struct StoredFacts {
    recipient: Option<InstitutionFacts>,
    application: Option<Application>,
    earlier: Option<Package>,
    recipient_keys: BTreeMap<String, KeyFacts>,
    /// The sender's own inspections of the student (another school's
    /// record says nothing about what this school's student saw).
    inspections: Vec<InspectionRecord>,
    /// The sender's own consent ledger of the student, never another
    /// school's.
    ledger: Option<ConsentLedger>,
}

impl StoredFacts {
    /// `located`: the envelope's application as this transaction's locating
    /// step read it, if it ran (it reads the same id).
    fn read(
        conn: &mut DbConn,
        own: &Brin,
        envelope: &Envelope,
        sealed: Option<&[SealedSection]>,
        located: Option<Option<Application>>,
        rules: &ExchangeRules,
    ) -> Result<Self, AppError> {
        let recipient = institutions::get(conn, &envelope.aud)?.map(|i| InstitutionFacts {
            status: i.status,
            sector: i.sector,
        });
        let application = match (located, Uuid::parse_str(&envelope.application)) {
            (Some(located), _) => located,
            (None, Ok(id)) => applications::get(conn, id)?,
            (None, Err(_)) => None,
        };
        let kids: Vec<&str> = sealed.unwrap_or_default().iter().map(|h| h.kid.as_str()).collect();
        let recipient_keys = keys::facts_of(conn, &envelope.aud, &kids)?;
        let (mut inspections, mut ledger) = (Vec::new(), None);
        if let Some(student) = application.as_ref().map(|a| &a.student) {
            if rules.require_inspection {
                inspections = inspections::for_school(conn, student, own)?
                    .into_iter()
                    .map(|row| InspectionRecord {
                        at: row.at,
                        by: row.inspected_by,
                        remarks_added: row.remarks_added,
                    })
                    .collect();
            }
            ledger = Some(consent_ledger(conn, student, own, &envelope.aud)?);
        }
        Ok(StoredFacts {
            recipient,
            earlier: packages::by_jti(conn, &envelope.jti)?,
            application,
            recipient_keys,
            inspections,
            ledger,
        })
    }
}

/// An admitted package, to store.
struct StoredPackage<'a> {
    own: &'a Brin,
    envelope: &'a Envelope,
    envelope_sha256: String,
    application: Application,
    /// The receipt signed before the transaction, and for which time.
    receipt: Option<(DateTime<Utc>, Result<String, AppError>)>,
}

/// Stores the package with its sections, under the receipt signed before
/// the transaction (signed here only if it was not, or for another time).
fn store_package(
    ctx: &mut Ctx<'_>,
    app: &App,
    policy: &RetentionPolicy,
    package: StoredPackage<'_>,
    submission: &Submission,
) -> Result<Submitted, AppError> {
    let StoredPackage {
        own,
        envelope,
        envelope_sha256,
        application,
        receipt,
    } = package;
    let receipt = match receipt {
        Some((at, signed)) if at == ctx.now => signed?,
        _ => app
            .signer
            .sign(RECEIPT_TYP, &receipt_claims(envelope, &envelope_sha256, ctx.now))?,
    };
    // What the retention rules see of the new package: known here, no
    // need to read it back.
    let facts = PackageFacts {
        submitted_at: ctx.now,
        delivered_at: None,
        acknowledged_at: None,
        application_status: application.status,
        application_ended_at: has_ended(application.status).then_some(application.updated_at),
    };
    let new = NewPackage {
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
        submitted_at: ctx.now,
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
    packages::insert(ctx.conn, &new, &sections)?;
    // The mbo's system learns that it can pull (ids only).
    let available = Emit::package(FeedEventKind::PackageAvailable, &new.id, Some(new.application_id));
    emit(ctx, &[&new.recipient], available)?;
    Ok(Submitted {
        receipt: SubmissionReceipt {
            delete_after: policy.package_due(&facts),
            package_id: envelope.pid.clone(),
            received_at: ctx.now,
            receipt,
        },
        created: true,
    })
}

/// When the package `id` will be deleted as things stand (the retention
/// rules' due moment).
fn package_delete_after(conn: &mut DbConn, policy: &RetentionPolicy, id: &str) -> Result<DateTime<Utc>, AppError> {
    let facts = retention::package_facts(conn, id)?.ok_or(AppError::NotFound)?;
    Ok(policy.package_due(&facts))
}

/// Inside the transaction: the intaker a school system names in
/// `X-On-Behalf-Of` exists, is active and works at the system's
/// institution. `None` (staff act for themselves) passes.
pub fn check_acting_for(conn: &mut DbConn, principal: &Principal, staff_id: Option<StaffId>) -> Result<(), AppError> {
    let Some(id) = staff_id else { return Ok(()) };
    match staff::get(conn, id)? {
        Some(a)
            if a.status == StaffStatus::Active
                && a.role == Role::Intaker
                && a.institution.as_ref() == principal.institution() =>
        {
            Ok(())
        }
        _ => Err(AppError::invalid(
            "/headers/x-on-behalf-of",
            "X-On-Behalf-Of: not an active intaker of this institution",
        )),
    }
}

/// The active intakers of an mbo, sorted by username: whom its own system
/// may name in `X-On-Behalf-Of`. Only for that mbo's own system; anyone
/// else, and an institution that does not exist, gets not-found. Records
/// `list_intakers`.
pub fn list_intakers(app: &App, caller: Caller<'_>, institution: Brin) -> Result<Vec<IntakerView>, AppError> {
    let access = Access::new(
        Action::ListIntakers,
        Resource::Institution(institution.clone()),
        ResourceRef::new(ResourceKind::Intakers, Some(institution.to_string())),
        Purpose::Intake,
    );
    perform_in(&app.store, app.clock.now(), caller, access, |ctx| {
        Ok(staff::list(ctx.conn, Some(&institution))?
            .into_iter()
            .filter(|a| a.role == Role::Intaker && a.status == StaffStatus::Active)
            .map(|a| IntakerView {
                id: a.id,
                username: a.username.as_str().to_owned(),
                display_name: a.display_name,
            })
            .collect())
    })
}

/// A page of the inbox, for the intaker `acting_for` when a school system
/// asks.
pub struct ListInbox {
    /// Packages after this package id.
    pub after: Option<String>,
    /// 1 to 1000.
    pub limit: i64,
    pub acting_for: Option<StaffId>,
}

/// The packages waiting for the caller's institution (metadata only),
/// with their deletion moments. For its intakers, or its system acting for
/// one; a caller of no institution has no inbox (forbidden). Records
/// `list_inbox`, and a `list_inbox_entry` about the student of every
/// package listed.
pub fn list_inbox(app: &App, caller: Caller<'_>, command: ListInbox) -> Result<Vec<InboxEntry>, AppError> {
    let policy = &app.rules.retention;
    let Some(own) = caller.principal.institution().cloned() else {
        // The policy refuses the broker as the target, and the refusal is
        // audited like any other.
        let access = Access::new(
            Action::ListInbox,
            Resource::Broker,
            ResourceRef::new(ResourceKind::Inbox, None),
            Purpose::Intake,
        );
        perform_in(&app.store, app.clock.now(), caller, access, |_| {
            Err::<(), _>(AppError::Forbidden)
        })?;
        return Err(AppError::Forbidden);
    };
    let access = Access::new(
        Action::ListInbox,
        Resource::Institution(own.clone()),
        ResourceRef::new(ResourceKind::Inbox, Some(own.to_string())),
        Purpose::Intake,
    )
    .on_behalf_of(command.acting_for);
    perform_in(&app.store, app.clock.now(), caller, access, |ctx| {
        check_acting_for(ctx.conn, caller.principal, command.acting_for)?;
        let listed = packages::inbox(ctx.conn, &own, command.after.as_deref(), command.limit)?;
        // The listing names students: one audit event per package listed.
        for package in &listed {
            let entry = ResourceRef::new(ResourceKind::Package, Some(package.id.clone()));
            ctx.record(
                Side::new(SideEvent::ListInboxEntry, entry)
                    .about(Some(package.student.clone()))
                    .related_to([package.sender.clone(), package.recipient.clone()]),
            )?;
        }
        let mut entries = Vec::with_capacity(listed.len());
        for package in &listed {
            entries.push(inbox_entry(
                package,
                package_delete_after(ctx.conn, policy, &package.id)?,
            ));
        }
        Ok(entries)
    })
}

fn inbox_entry(p: &PackageSummary, delete_after: DateTime<Utc>) -> InboxEntry {
    InboxEntry {
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

/// One package, for the intaker `acting_for` when a school system asks.
pub struct PackageCommand {
    /// The package id (a UUID, as stored).
    pub id: String,
    pub acting_for: Option<StaffId>,
}

/// The access to one package, located by its id: its sender, recipient
/// and student. The package as read goes into `stash`, for the work to
/// use in the same transaction (its envelope is read once).
fn package_access(action: Action, command: &PackageCommand, stash: Stash<Package>) -> Access {
    let id = command.id.clone();
    let locate = move |conn: &mut DbConn| {
        Ok(packages::get(conn, &id)?.map(|p| {
            let located = Located {
                resource: Resource::Package {
                    sender: p.sender.clone(),
                    recipient: p.recipient.clone(),
                },
                data_subject: Some(p.student.clone()),
            };
            stash.put(p);
            located
        }))
    };
    let record = ResourceRef::new(ResourceKind::Package, Some(command.id.clone()));
    Access::lookup(action, locate, record, Purpose::Intake).on_behalf_of(command.acting_for)
}

/// A pulled package, and whether this pull raised the anomaly alert.
#[derive(Debug)]
pub struct Pulled {
    pub package: PulledPackage,
    pub anomaly: bool,
}

/// Takes a package out: the envelope and the sections that may be released
/// at this moment ([`exchange::release`], under the consent of the
/// package's sender); the others are listed as withheld, with the reason.
/// Only for the recipient's intakers (or its system acting for one);
/// anyone else gets not-found. Records `pull_package`, and
/// `anomaly_alert` when the caller crosses the hourly pull threshold.
pub fn pull_package(app: &App, caller: Caller<'_>, command: PackageCommand) -> Result<Pulled, AppError> {
    let rules = &app.rules;
    let located = Stash::default();
    let access = package_access(Action::PullPackage, &command, located.clone());
    perform_in(&app.store, app.clock.now(), caller, access, |ctx| {
        check_acting_for(ctx.conn, caller.principal, command.acting_for)?;
        let id = command.id.as_str();
        let package = match located.take() {
            Some(package) => package,
            None => packages::get(ctx.conn, id)?.ok_or(AppError::NotFound)?,
        };
        // A withdrawal about this student runs wholly before this pull or
        // wholly after it (`consents::lock_student`). Decide first what may
        // go, and mark it delivered before reading the ciphertext: the
        // marking locks the rows, so a withdrawal either committed before
        // (and the section is withheld) or waits and then records that the
        // section had been delivered.
        consents::lock_student(ctx.conn, &package.student)?;
        let ledger = consent_ledger(ctx.conn, &package.student, &package.sender, &package.recipient)?;
        let decided = releasable(
            &|section| rules.lawful_basis.of(section),
            &ledger.for_recipient(&package.recipient, ctx.now),
        );
        packages::mark_sections_delivered(ctx.conn, id, &decided.allowed, ctx.now)?;
        packages::set_delivered(ctx.conn, id, ctx.now)?;
        let anomaly = pull_anomaly(ctx, rules.anomaly_pulls_per_hour)?;
        let stored = packages::sections(ctx.conn, id)?;
        let states: Vec<exchange::StoredSection> = stored
            .iter()
            .map(|s| exchange::StoredSection {
                section: s.section,
                withdrawn: s.withdrawn_at.is_some(),
            })
            .collect();
        let out = release(&decided, &states);
        let sections = stored
            .into_iter()
            .filter(|s| out.released.contains(&s.section))
            .map(|s| (s.section, s.ciphertext))
            .collect();
        let withheld = out
            .withheld
            .into_iter()
            .map(|(section, reason)| Withheld {
                section,
                reason: reason.to_string(),
            })
            .collect();
        let package = PulledPackage {
            package_id: package.id,
            application_id: package.application_id,
            sender: package.sender.to_string(),
            submitted_at: package.submitted_at,
            envelope: package.envelope,
            sections,
            withheld,
        };
        Ok(Pulled { package, anomaly })
    })
}

/// The anomaly signal: when this pull takes the actor past `threshold`
/// pulls within an hour, an `anomaly_alert` event goes into the log (once,
/// at the crossing). Returns whether it did.
fn pull_anomaly(ctx: &mut Ctx<'_>, threshold: i64) -> Result<bool, AppError> {
    let Some(actor_id) = Actor::from_principal(ctx.principal()).id else {
        return Ok(false);
    };
    // This pull's own event is appended after the work; count the earlier
    // ones, only as far as one past the threshold (the alert fires once,
    // when the count is exactly the threshold).
    let since = ctx.now - Duration::hours(1);
    let at_most = threshold.saturating_add(1);
    let earlier = audit::count_actions_since(ctx.conn, &actor_id, Action::PullPackage.as_str(), since, at_most)?;
    if earlier != threshold {
        return Ok(false);
    }
    ctx.record(
        Side::new(
            SideEvent::AnomalyAlert,
            ResourceRef::new(ResourceKind::Actor, Some(actor_id)),
        )
        .about(None)
        .purpose(Purpose::Supervision)
        .on_behalf_of(None)
        .because(format!("more than {threshold} dossiers pulled within an hour")),
    )?;
    tracing::warn!(
        request_id = ctx.request_id().unwrap_or_default(),
        threshold,
        "anomaly: unusually many pulls by one actor"
    );
    Ok(true)
}

/// Acknowledges receipt of a package (idempotent: the first
/// acknowledgement stays), in the name of the intaker `acting_for` or of
/// the caller. For the recipient's intakers (or its system acting for
/// one); anyone else gets not-found. Records `acknowledge_package`.
pub fn acknowledge_package(
    app: &App,
    caller: Caller<'_>,
    command: PackageCommand,
) -> Result<Acknowledgement, AppError> {
    let located = Stash::default();
    let access = package_access(Action::AcknowledgePackage, &command, located.clone());
    let by = match command.acting_for {
        Some(staff) => ActorRef::Staff(staff),
        None => ActorRef::of(caller.principal),
    };
    let acknowledged = perform_in(&app.store, app.clock.now(), caller, access, |ctx| {
        check_acting_for(ctx.conn, caller.principal, command.acting_for)?;
        // As read in this transaction: whether this is the first
        // acknowledgement (only that one goes into the sender's feed).
        let first = located.take().is_some_and(|p: Package| p.acknowledged_at.is_none());
        let package = packages::acknowledge(ctx.conn, &command.id, &by, ctx.now)?.ok_or(AppError::NotFound)?;
        if first {
            let entry = Emit::package(
                FeedEventKind::PackageAcknowledged,
                &package.id,
                Some(package.application_id),
            );
            emit(ctx, &[&package.sender], entry)?;
        }
        Ok(Acknowledgement {
            package_id: package.id,
            acknowledged_at: package.acknowledged_at.unwrap_or(ctx.now),
        })
    })?;
    Ok(acknowledged)
}
