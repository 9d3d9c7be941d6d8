//! The student's own page (issue 17): transparency links, opening one with
//! its code, the page's sessions, and what the page shows.
//!
//! * A sending school's system issues a link for a student it is party to
//!   ([`issue_link`]; the ledger's rule, so another school gets the 404 of
//!   a student nobody knows) and may revoke it ([`revoke_link`]; another
//!   school's link is the 404 of a missing one).
//! * The link's token (128 random bits) and its 6-digit code are kept only
//!   as keyed HMACs under the broker's pseudonym key (the code's bound to
//!   the link's id). Why not argon2 for the code: a million codes are
//!   tried offline in seconds whatever the hash's cost, unless the hash
//!   needs a key that is not in the database; with the key, a copy of the
//!   database gives nothing to try, and the online side is bounded by the
//!   lock after `max_code_attempts` wrong codes.
//! * Opening ([`open_link`]) counts a wrong code in the locating step of
//!   the audited access (which the work's rollback does not undo), so the
//!   count and the lock hold even though the access itself is refused and
//!   audited as such.
//! * Every view of the page is an audited access by
//!   [`Principal::StudentLink`] (`read_own_file`), about the student.

use std::sync::{Arc, Mutex};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use doorstroom_api::applications::ApplicationDetail;
use doorstroom_api::report::SubjectReport;
use doorstroom_domain::transparency::parse_code;
use doorstroom_domain::{
    Action, ActorKind, Brin, GivenBy, LinkFacts, LinkRefusal, Principal, Pseudonym, Purpose, Resource, ResourceKind,
    ResourceRef, Role, Section, StudentNumber, link_usable,
};
use doorstroom_store::transparency::{self as links, Link, NewLink};
use doorstroom_store::{DbConn, applications, consents, institutions, login_failures, staff};
use rand::RngCore;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::applications::application_detail;
use crate::ledger::ledger_of_student;
use crate::report::report_of;
use crate::{Access, App, AppError, Caller, Located, perform_in};

/// The settings of links and their page (`[transparency]`).
#[derive(Debug, Clone, Copy)]
pub struct LinkSettings {
    /// How long a new link is valid.
    pub validity: Duration,
    /// Wrong codes before a link locks.
    pub max_code_attempts: i64,
    /// Wrong codes from one client address, on any link, within
    /// `address_window`, after which it is refused for a while.
    pub max_codes_per_address: i64,
    /// The window of the per-address count (the login's failure window:
    /// the failures share its table and its pruning).
    pub address_window: Duration,
    /// A page session ends after this long without a request...
    pub session_idle: Duration,
    /// ...and at the latest this long after the code was given.
    pub session_lifetime: Duration,
    /// Whether the page names the staff member of an access (default:
    /// only the institution and role).
    pub show_staff_names: bool,
}

/// A link just issued: the only moment its token and code exist in clear.
#[derive(Debug)]
pub struct IssuedLink {
    pub id: Uuid,
    pub token: String,
    pub code: String,
    pub expires_at: DateTime<Utc>,
}

fn token_hash(app: &App, token: &str) -> String {
    app.secrets.bucket_key("transparency-token", token)
}

fn code_hash(app: &App, link: Uuid, code: &str) -> String {
    app.secrets.bucket_key("transparency-code", &format!("{link}:{code}"))
}

/// 16 random bytes, base64url: 128 bits.
fn new_token() -> String {
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Six uniformly random digits (rejection sampling: no modulo bias).
fn new_code() -> String {
    loop {
        let n = rand::rngs::OsRng.next_u32();
        if n < 4_294_000_000 {
            return format!("{:06}", n % 1_000_000);
        }
    }
}

/// Issues a link to the student's own page. Only a sending school party
/// to the student (named in an application, or owner of ledger records)
/// may; any other gets "not found". Audited as `issue_transparency_link`
/// about the student.
pub fn issue_link(
    app: &App,
    caller: Caller<'_>,
    student_number: &StudentNumber,
    settings: &LinkSettings,
) -> Result<IssuedLink, AppError> {
    let own = caller.principal.institution().cloned().ok_or(AppError::Forbidden)?;
    let student = app.pseudonym_of(student_number);
    let id = Uuid::new_v4();
    let (token, code) = (new_token(), new_code());
    let (token_hash, code_hash) = (token_hash(app, &token), code_hash(app, id, &code));
    let access = Access::lookup(
        Action::IssueTransparencyLink,
        ledger_of_student(student.clone(), None),
        ResourceRef::new(ResourceKind::TransparencyLink, Some(id.to_string())),
        Purpose::Transparency,
    )
    .about(student.clone());
    let validity = settings.validity;
    perform_in(&app.store, app.clock.now(), caller, access, |ctx| {
        let expires_at = ctx.now + validity;
        links::insert(
            ctx.conn,
            &NewLink {
                id,
                school: &own,
                student: &student,
                token_hash: &token_hash,
                code_hash: &code_hash,
                created_at: ctx.now,
                expires_at,
            },
        )?;
        Ok(IssuedLink {
            id,
            token,
            code,
            expires_at,
        })
    })
}

/// Locates a link for the policy: its id and issuing school, about its
/// student.
fn located(link: Link) -> Located {
    Located {
        resource: Resource::TransparencyLink {
            id: link.id,
            owner: link.school,
        },
        data_subject: Some(link.student),
    }
}

/// Revokes a link: it opens no page from now on, and its sessions end.
/// Only the issuing school's system may; another school's link is "not
/// found", exactly as a missing one, and both are audited
/// (`revoke_transparency_link`). Revoking again changes nothing.
pub fn revoke_link(app: &App, caller: Caller<'_>, id: Uuid) -> Result<(), AppError> {
    let access = Access::lookup(
        Action::RevokeTransparencyLink,
        move |conn: &mut DbConn| Ok(links::get(conn, id)?.map(located)),
        ResourceRef::new(ResourceKind::TransparencyLink, Some(id.to_string())),
        Purpose::Transparency,
    );
    perform_in(&app.store, app.clock.now(), caller, access, |ctx| {
        links::revoke(ctx.conn, id, ctx.now)?;
        Ok(())
    })
}

/// The principal of a stored link.
pub fn principal_of(link: &Link) -> Principal {
    Principal::StudentLink {
        link: link.id,
        school: link.school.clone(),
        student: link.student.clone(),
    }
}

fn facts(link: &Link) -> LinkFacts {
    LinkFacts {
        expires_at: link.expires_at,
        revoked_at: link.revoked_at,
        locked_at: link.locked_at,
    }
}

/// What the locating step of an opening found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    /// Too many wrong codes from this address lately: not even checked.
    AddressLimited,
    Unusable(LinkRefusal),
    WrongCode {
        locked: bool,
    },
    Right,
}

/// A page session just started: its id, for the cookie only.
#[derive(Debug)]
pub struct OpenedLink {
    pub session_id: String,
}

/// The keyed hash of a session id, as stored.
pub fn session_hash(session_id: &str) -> String {
    hex::encode(Sha256::digest(session_id.as_bytes()))
}

/// Opens the page of the link with `token` with `code`: a new session.
/// An unknown token is "not found" (audited as anonymous); a revoked or
/// expired link "not found" too; a wrong code is counted (and at the
/// limit locks the link) and refused as unauthenticated; a locked link is
/// "too many attempts". Every attempt is audited as
/// `open_transparency_link`, by the link when it exists.
pub fn open_link(app: &App, attempt: CodeAttempt<'_>, settings: &LinkSettings) -> Result<OpenedLink, AppError> {
    let CodeAttempt {
        request_id,
        token,
        code,
        address,
    } = attempt;
    let hash = token_hash(app, token);
    let bucket = app.secrets.bucket_key("transparency-address", address);
    let limits = AddressLimit {
        bucket,
        max: settings.max_codes_per_address,
        window: settings.address_window,
    };
    let found = app.store.read(|conn| links::by_token_hash(conn, &hash))?;
    let principal = found.as_ref().map(principal_of).unwrap_or(Principal::Anonymous);
    let given = match (found.as_ref(), parse_code(code)) {
        (Some(link), Ok(code)) => Some(code_hash(app, link.id, &code)),
        _ => None,
    };
    let verdict = Arc::new(Mutex::new(None));
    let seen = verdict.clone();
    let (now, max) = (crate::spine::access_time(app.clock.now()), settings.max_code_attempts);
    let locate = move |conn: &mut DbConn| {
        let Some(link) = links::by_token_hash(conn, &hash)? else {
            return Ok(None);
        };
        let judged = match link_usable(&facts(&link), now) {
            Err(refusal) => Verdict::Unusable(refusal),
            Ok(()) if limits.reached(conn, now)? => Verdict::AddressLimited,
            Ok(()) if given.as_deref().is_some_and(|g| same(g, &link.code_hash)) => Verdict::Right,
            Ok(()) => {
                limits.count(conn, now)?;
                Verdict::WrongCode {
                    locked: links::count_wrong_code(conn, link.id, max, now)? >= max,
                }
            }
        };
        if let Ok(mut v) = seen.lock() {
            *v = Some(judged);
        }
        Ok(Some(located(link)))
    };
    // The lookup counts a wrong code (and the address's attempts), which
    // must stay when the work refuses it.
    let access = Access::lookup(
        Action::OpenTransparencyLink,
        locate,
        ResourceRef::new(ResourceKind::TransparencyLink, found.as_ref().map(|l| l.id.to_string())),
        Purpose::Transparency,
    )
    .keeping_lookup_writes();
    let link_id = found.as_ref().map(|l| l.id);
    let window_secs = settings.address_window.num_seconds().max(1);
    perform_in(&app.store, now, Caller::new(&principal, request_id), access, |ctx| {
        let judged = verdict.lock().ok().and_then(|v| *v);
        match (judged, link_id) {
            (Some(Verdict::Right), Some(id)) => {
                links::opened(ctx.conn, id, ctx.now)?;
                let session_id = new_session_id();
                links::insert_session(ctx.conn, &session_hash(&session_id), id, ctx.now)?;
                Ok(OpenedLink { session_id })
            }
            (Some(Verdict::WrongCode { locked: true }) | Some(Verdict::Unusable(LinkRefusal::Locked)), _) => {
                Err(AppError::TooManyAttempts { retry_after_secs: 0 })
            }
            (Some(Verdict::WrongCode { locked: false }), _) => Err(AppError::Unauthenticated("wrong code")),
            (Some(Verdict::AddressLimited), _) => Err(AppError::TooManyAttempts {
                retry_after_secs: window_secs,
            }),
            _ => Err(AppError::NotFound),
        }
    })
}

/// One code typed on the page.
pub struct CodeAttempt<'a> {
    pub request_id: Option<&'a str>,
    /// The link's token, from the URL.
    pub token: &'a str,
    pub code: &'a str,
    /// The client's address (kept only as a keyed hash, in the failure
    /// count).
    pub address: &'a str,
}

/// The per-address count of wrong codes: the login's failure table, its
/// own scope, the address as a keyed hash.
struct AddressLimit {
    bucket: String,
    max: i64,
    window: Duration,
}

const ADDRESS_SCOPE: &str = "transparency-address";

impl AddressLimit {
    fn reached(&self, conn: &mut DbConn, now: DateTime<Utc>) -> Result<bool, AppError> {
        login_failures::lock_bucket(conn, ADDRESS_SCOPE, &self.bucket)?;
        Ok(login_failures::count_since(conn, ADDRESS_SCOPE, &self.bucket, now - self.window)? >= self.max)
    }

    fn count(&self, conn: &mut DbConn, now: DateTime<Utc>) -> Result<(), AppError> {
        login_failures::record(conn, ADDRESS_SCOPE, &self.bucket, now)?;
        Ok(())
    }
}

/// Constant-time comparison of two hashes.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && openssl::memcmp::eq(a.as_bytes(), b.as_bytes())
}

/// 32 random bytes, base64url, as the console's session ids.
fn new_session_id() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The principal of a page session, if the session and its link are still
/// valid at `now` (touching the session); `None` ends it.
pub fn session_principal(app: &App, session_id: &str, settings: &LinkSettings) -> Result<Option<Principal>, AppError> {
    let hash = session_hash(session_id);
    let now = app.clock.now();
    app.store.write(|conn| {
        let Some(session) = links::get_session(conn, &hash)? else {
            return Ok::<_, AppError>(None);
        };
        let link = links::get(conn, session.link_id)?;
        let alive =
            now < session.last_seen_at + settings.session_idle && now < session.created_at + settings.session_lifetime;
        match link {
            Some(link) if alive && link_usable(&facts(&link), now).is_ok() => {
                links::touch_session(conn, &hash, now)?;
                Ok(Some(principal_of(&link)))
            }
            _ => {
                links::delete_session(conn, &hash)?;
                Ok(None)
            }
        }
    })
}

/// Ends a page session (the "log out" button).
pub fn end_session(app: &App, session_id: &str) -> Result<(), AppError> {
    let hash = session_hash(session_id);
    app.store.write(|conn| links::delete_session(conn, &hash))?;
    Ok(())
}

/// The link a student principal holds, for its own page.
fn own_link(caller: Caller<'_>) -> Result<(Uuid, Brin, Pseudonym), AppError> {
    match caller.principal {
        Principal::StudentLink { link, school, student } => Ok((*link, school.clone(), student.clone())),
        _ => Err(AppError::Forbidden),
    }
}

/// A view of the page by its link's holder (`read_own_file` of `record`).
fn view_access(link: Uuid, record: ResourceRef) -> Access {
    Access::lookup(
        Action::ReadOwnFile,
        move |conn: &mut DbConn| Ok(links::get(conn, link)?.map(located)),
        record,
        Purpose::Transparency,
    )
}

/// Everything the page shows of one student.
#[derive(Debug)]
pub struct OwnFile {
    /// The art. 15 report, whole (no institution's scope), without the
    /// pseudonym and, unless configured, without staff ids.
    pub report: SubjectReport,
    /// Each application with its course and the retention's due moments.
    pub applications: Vec<ApplicationDetail>,
    /// The name of every institution the file names.
    pub names: Vec<(Brin, String)>,
    /// The privacy contact of each institution that gave one.
    pub contacts: Vec<(Brin, String)>,
    /// The latest signed checkpoint of the audit log, and the accesses
    /// (`seq`) whose inclusion in it its proof showed.
    pub signed_log: Option<SignedLog>,
    /// The role of the staff member behind an access, by `seq`.
    pub roles: Vec<(i64, Role)>,
}

/// What the "in the signed log" marks were checked against.
#[derive(Debug)]
pub struct SignedLog {
    pub checkpoint: doorstroom_store::merkle::Checkpoint,
    /// The accesses whose inclusion proof verified against its root.
    pub included: Vec<i64>,
}

/// Checks, for each access of the report, the inclusion proof of its log
/// entry in the latest checkpoint's tree (RFC 9162): the page marks those
/// that verify (the server also checks the checkpoint's signature).
fn signed_log(conn: &mut DbConn, report: &SubjectReport) -> Result<Option<SignedLog>, AppError> {
    use doorstroom_store::merkle;
    let Some(checkpoint) = merkle::latest_checkpoint(conn)? else {
        return Ok(None);
    };
    let mut included = Vec::new();
    for seq in report.accesses.iter().map(|a| a.seq).filter(|s| *s <= checkpoint.size) {
        let index = seq - 1;
        let Some((_, entry)) = merkle::entries(conn, index, seq)?.into_iter().next() else {
            continue;
        };
        let proof = merkle::inclusion_proof(conn, index, checkpoint.size)?;
        let leaf = merkle::leaf_hash(entry.as_bytes());
        if merkle::check_inclusion(&leaf, index, checkpoint.size, &proof, &checkpoint.root).is_ok() {
            included.push(seq);
        }
    }
    Ok(Some(SignedLog { checkpoint, included }))
}

/// The student's own file, for the page: one audited `read_own_file` of
/// the page (`transparency_page`). The report is the privacy officer's,
/// from the same function ([`report_of`]), unscoped: the student may know
/// all of it.
pub fn own_file(app: &App, caller: Caller<'_>, settings: &LinkSettings) -> Result<OwnFile, AppError> {
    let (link, _, student) = own_link(caller)?;
    let access = view_access(link, ResourceRef::new(ResourceKind::TransparencyPage, None)).about(student.clone());
    let policy = app.rules.retention;
    perform_in(&app.store, app.clock.now(), caller, access, |ctx| {
        let report = report_of(ctx.conn, ctx.now, &student, None)?;
        let (report, roles) = redacted_with_roles(ctx.conn, report, settings)?;
        let signed_log = signed_log(ctx.conn, &report)?;
        let mut details = Vec::new();
        for a in applications::find_for_student(ctx.conn, &student, None)? {
            details.push(application_detail(ctx.conn, &policy, a)?);
        }
        let brins = named_institutions(&report);
        let mut names = Vec::new();
        for brin in &brins {
            if let Some(i) = institutions::get(ctx.conn, brin)? {
                names.push((i.brin, i.name));
            }
        }
        let contacts = links::privacy_contacts(ctx.conn, &brins)?;
        Ok(OwnFile {
            report,
            applications: details,
            names,
            contacts,
            signed_log,
            roles,
        })
    })
}

/// The art. 15 report of the student, as a download: the same function
/// and redaction as the page, audited as `read_own_file` of a
/// `subject_report`.
pub fn own_report(app: &App, caller: Caller<'_>, settings: &LinkSettings) -> Result<SubjectReport, AppError> {
    let (link, _, student) = own_link(caller)?;
    let access = view_access(link, ResourceRef::new(ResourceKind::SubjectReport, None)).about(student.clone());
    perform_in(&app.store, app.clock.now(), caller, access, |ctx| {
        let report = report_of(ctx.conn, ctx.now, &student, None)?;
        redacted(ctx.conn, report, settings)
    })
}

/// The signed receipt (a JWS) of one of the student's consent events, as
/// a download; another student's receipt is "not found". Audited as
/// `read_own_file` of the `consent_event`.
pub fn own_receipt(app: &App, caller: Caller<'_>, receipt_id: Uuid) -> Result<String, AppError> {
    let (link, _, student) = own_link(caller)?;
    let record = ResourceRef::new(ResourceKind::ConsentEvent, Some(receipt_id.to_string()));
    let access = view_access(link, record).about(student.clone());
    perform_in(&app.store, app.clock.now(), caller, access, |ctx| {
        consents::for_student(ctx.conn, &student)?
            .into_iter()
            .find(|row| row.id == receipt_id)
            .map(|row| row.receipt)
            .ok_or(AppError::NotFound)
    })
}

/// The report without what the student must not see on the page: the
/// pseudonym (in every access) and staff ids; with
/// `show_staff_names` (the privacy officer's choice) a staff member is
/// named by display name instead of id, otherwise not at all.
fn redacted(conn: &mut DbConn, report: SubjectReport, settings: &LinkSettings) -> Result<SubjectReport, AppError> {
    Ok(redacted_with_roles(conn, report, settings)?.0)
}

/// [`redacted`], with the role of the staff member behind each access
/// (acting, or on whose behalf a system acted), by `seq`.
fn redacted_with_roles(
    conn: &mut DbConn,
    mut report: SubjectReport,
    settings: &LinkSettings,
) -> Result<(SubjectReport, Vec<(i64, Role)>), AppError> {
    let mut roles = Vec::new();
    for record in &mut report.accesses {
        let event = &mut record.event;
        event.data_subject = None;
        let acting = match (event.actor.kind, event.actor.id.as_deref()) {
            (ActorKind::Staff, Some(id)) => id.parse().ok(),
            _ => None,
        };
        let person = match acting.or(event.on_behalf_of) {
            Some(id) => staff::get(conn, id)?,
            None => None,
        };
        if let Some(account) = &person {
            roles.push((record.seq, account.role));
        }
        event.on_behalf_of = None;
        // A system's certificate fingerprint names no person, but means
        // nothing to the student either; a staff member is named only
        // when configured.
        event.actor.id = match person {
            Some(account) if settings.show_staff_names && acting.is_some() => Some(account.display_name),
            _ => None,
        };
    }
    Ok((report, roles))
}

/// Every institution the report names, each once, sorted.
fn named_institutions(report: &SubjectReport) -> Vec<Brin> {
    let mut raw: Vec<&str> = Vec::new();
    for a in &report.applications {
        raw.push(&a.receiving);
        raw.extend(a.sending.as_deref());
    }
    for p in &report.packages {
        raw.extend([p.sender.as_str(), p.recipient.as_str()]);
    }
    for c in &report.consents {
        raw.extend([c.recipient.as_str(), c.school.as_str()]);
    }
    for i in &report.inspections {
        raw.push(&i.school);
    }
    for r in &report.accesses {
        raw.extend(r.event.actor.institution.as_ref().map(Brin::as_str));
    }
    let mut brins: Vec<Brin> = raw.into_iter().filter_map(|b| Brin::parse(b).ok()).collect();
    brins.sort();
    brins.dedup();
    brins
}

/// The id of the link with `token`, if there is one (whatever its state):
/// a page session counts only for the link of the page's own URL.
pub fn link_of_token(app: &App, token: &str) -> Result<Option<Uuid>, AppError> {
    let hash = token_hash(app, token);
    Ok(app.store.read(|conn| links::by_token_hash(conn, &hash))?.map(|l| l.id))
}

/// The CSRF token of a page session: an HMAC of its id under the broker's
/// key, as the console's (nothing more is stored).
pub fn csrf_token(app: &App, session_id: &str) -> String {
    app.secrets.bucket_key("transparency-csrf", session_id)
}

/// A withdrawal as the page's form asks it.
#[derive(Debug, Clone)]
pub struct WithdrawalAsk {
    pub recipient: Brin,
    pub section: Section,
    pub by: GivenBy,
}

impl WithdrawalAsk {
    /// The form's fields, each parsed (a bad one is 422, naming it).
    pub fn parse(recipient: &str, section: &str, by: &str) -> Result<Self, AppError> {
        Ok(WithdrawalAsk {
            recipient: Brin::parse(recipient).map_err(|e| AppError::field("/recipient", e))?,
            section: Section::parse(section).map_err(|e| AppError::field("/section", e))?,
            by: GivenBy::parse(by).map_err(|e| AppError::field("/by", e))?,
        })
    }
}

/// Withdraws consent from the student's page (the ledger's use case,
/// `ledger::withdraw_via_link`, in the issuing school's ledger); answers
/// the id of the broker-signed receipt (downloaded with [`own_receipt`]).
pub fn withdraw_on_page(app: &App, caller: Caller<'_>, ask: WithdrawalAsk) -> Result<Uuid, AppError> {
    let (link, school, student) = own_link(caller)?;
    let withdrawal = crate::ledger::withdraw_via_link(
        app,
        caller,
        crate::ledger::LinkWithdrawal {
            link,
            school,
            student,
            recipient: ask.recipient,
            section: ask.section,
            by: ask.by,
        },
    )?;
    Ok(withdrawal.receipt.receipt_id)
}
