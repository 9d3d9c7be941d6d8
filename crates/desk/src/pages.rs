//! The desk's pages: login, the inbox, a dossier, its attachments, and the
//! two actions (acknowledge, report a status). Each handler parses, asks
//! the broker (through [`crate::broker`]) and renders.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use askama::Template;
use chrono::{DateTime, Utc};
use doorstroom_api::institutions::HandoverContactBody;
use doorstroom_client::{ApplicationDetail, ClientError, InboxEntry, Withheld};
use doorstroom_domain::{ApplicationStatus, StatusReport};
use uuid::Uuid;

use crate::Desk;
use crate::broker::LoginRefused;
use crate::chrome::Chrome;
use crate::error::{DeskError, Kind};
use crate::i18n::Lang;
use crate::session::{SESSION_COOKIE, Session, expired_session_cookie, same_origin, same_token, session_cookie};
use crate::vault::Held;
use crate::view::{self, SectionView};

const STYLESHEET: &str = include_str!("../static/desk.css");

/// The statuses an intaker reports from the desk, in the order of the course.
pub const REPORTABLE: &[ApplicationStatus] = &[
    ApplicationStatus::IntakeScheduled,
    ApplicationStatus::IntakeHeld,
    ApplicationStatus::PlaceOffered,
    ApplicationStatus::Enrolled,
    ApplicationStatus::NotEnrolling,
    ApplicationStatus::NoShow,
];

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/static/desk.css", web::get().to(stylesheet))
        .route("/", web::get().to(home))
        .route("/login", web::get().to(login_form))
        .route("/login", web::post().to(login))
        .route("/logout", web::post().to(logout))
        .route("/inbox", web::get().to(inbox))
        .route("/dossiers/{id}", web::get().to(dossier))
        .route("/dossiers/{id}/acknowledge", web::post().to(acknowledge))
        .route("/dossiers/{id}/status", web::post().to(report_status))
        .route("/dossiers/{id}/attachments/{n}", web::get().to(attachment))
        .default_service(web::to(not_found));
}

/// A logged-in intaker on a page.
pub struct Intaker {
    pub session: Session,
    pub lang: Lang,
    session_id: String,
}

impl Intaker {
    fn chrome(&self) -> Chrome {
        Chrome::of(self.lang, &self.session.username, &self.session.csrf)
    }

    fn fail(&self, kind: Kind) -> DeskError {
        DeskError::new(self.lang, kind)
    }

    /// A broker answer as a page; a refused token also ends the session.
    fn broker_failed(&self, desk: &Desk, err: ClientError) -> DeskError {
        let err = DeskError::broker(self.lang, err);
        if matches!(err.kind, Kind::LoginRequired { .. }) {
            end_session(desk, &self.session_id);
        }
        err
    }

    /// A POST's CSRF token and origin.
    fn check(&self, req: &HttpRequest, form: &Form) -> Result<(), DeskError> {
        let token = form.get("csrf").map(String::as_str).unwrap_or_default();
        if same_origin(req) && same_token(token, &self.session.csrf) {
            Ok(())
        } else {
            Err(self.fail(Kind::Csrf))
        }
    }
}

impl FromRequest for Intaker {
    type Error = DeskError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, DeskError>>>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let lang = Lang::of(req);
        let cookie = req.cookie(SESSION_COOKIE).map(|c| c.value().to_owned());
        let desk = req.app_data::<web::Data<Desk>>().cloned();
        Box::pin(async move {
            let (Some(session_id), Some(desk)) = (cookie, desk) else {
                return Err(DeskError::new(lang, Kind::LoginRequired { expired: false }));
            };
            match desk.sessions.get(&session_id, Utc::now()) {
                Some(session) => Ok(Intaker {
                    session,
                    lang,
                    session_id,
                }),
                None => Err(DeskError::new(lang, Kind::LoginRequired { expired: true })),
            }
        })
    }
}

fn end_session(desk: &Desk, session_id: &str) {
    if let Some((staff, others)) = desk.sessions.end(session_id)
        && !others
    {
        desk.vault.drop_intaker(staff);
    }
}

/// A urlencoded form's fields (the last value of a repeated field).
type Form = HashMap<String, String>;

fn parse_form(body: &[u8]) -> Form {
    form_urlencoded::parse(body).into_owned().collect()
}

fn package_id(lang: Lang, raw: &str) -> Result<Uuid, DeskError> {
    Uuid::parse_str(raw).map_err(|_| DeskError::new(lang, Kind::NotFound))
}

fn html(status: StatusCode, page: &impl Template) -> HttpResponse {
    match page.render() {
        Ok(body) => HttpResponse::build(status)
            .content_type("text/html; charset=utf-8")
            .body(body),
        Err(err) => {
            tracing::error!(cause = %err, "desk page failed to render");
            HttpResponse::InternalServerError()
                .content_type("text/plain; charset=utf-8")
                .body("internal error")
        }
    }
}

fn see_other(target: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, target.to_owned()))
        .finish()
}

async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=86400"))
        .body(STYLESHEET)
}

async fn home() -> HttpResponse {
    see_other("/inbox")
}

async fn not_found(req: HttpRequest) -> Result<HttpResponse, DeskError> {
    Err(DeskError::new(Lang::of(&req), Kind::NotFound))
}

#[derive(Template)]
#[template(path = "desk/login.html")]
struct LoginPage {
    chrome: Chrome,
    username: String,
    error: Option<String>,
    notice: Option<&'static str>,
}

async fn login_form(req: HttpRequest) -> HttpResponse {
    let lang = Lang::of(&req);
    let expired = req.query_string().split('&').any(|p| p == "expired=1");
    let page = LoginPage {
        chrome: Chrome::anonymous(lang),
        username: String::new(),
        error: None,
        notice: expired.then_some(lang.messages().login_expired),
    };
    html(StatusCode::OK, &page)
}

/// The login form's fields, checked for shape before the broker is asked.
fn login_fields(lang: Lang, form: &Form) -> Result<(String, String, String), DeskError> {
    let field = |name: &str| {
        form.get(name)
            .cloned()
            .ok_or_else(|| DeskError::new(lang, Kind::BadRequest(format!("field {name} is missing"))))
    };
    Ok((field("username")?, field("password")?, field("totp")?))
}

async fn login(req: HttpRequest, desk: web::Data<Desk>, body: web::Bytes) -> Result<HttpResponse, DeskError> {
    let lang = Lang::of(&req);
    if !same_origin(&req) {
        return Err(DeskError::new(lang, Kind::Csrf));
    }
    let (username, password, totp) = login_fields(lang, &parse_form(&body))?;
    let t = lang.messages();
    let refused = |status, error: &str| {
        let page = LoginPage {
            chrome: Chrome::anonymous(lang),
            username: username.clone(),
            error: Some(error.to_owned()),
            notice: None,
        };
        Ok(html(status, &page))
    };
    if username.is_empty() || totp.len() != 6 || !totp.bytes().all(|b| b.is_ascii_digit()) {
        return refused(StatusCode::UNPROCESSABLE_ENTITY, t.login_failed);
    }
    let login = match desk.broker.login(&username, &password, &totp).await {
        Ok(login) => login,
        Err(LoginRefused::NotOurIntaker) => return refused(StatusCode::FORBIDDEN, t.not_an_intaker),
        Err(LoginRefused::Broker(ClientError::Problem(p))) if p.status == 401 => {
            return refused(StatusCode::UNAUTHORIZED, t.login_failed);
        }
        Err(LoginRefused::Broker(ClientError::Problem(p))) if p.status == 429 => {
            return refused(StatusCode::TOO_MANY_REQUESTS, t.login_rate_limited);
        }
        Err(LoginRefused::Broker(err)) => return Err(DeskError::broker(lang, err)),
    };
    let session_id = desk.sessions.start(Session {
        staff_id: login.staff_id,
        username,
        token: login.token,
        token_expires_at: login.expires_at,
        csrf: crate::session::random_token(),
        last_seen: Utc::now(),
    });
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, "/inbox"))
        .cookie(session_cookie(&session_id))
        .finish())
}

async fn logout(
    req: HttpRequest,
    desk: web::Data<Desk>,
    intaker: Intaker,
    body: web::Bytes,
) -> Result<HttpResponse, DeskError> {
    intaker.check(&req, &parse_form(&body))?;
    end_session(&desk, &intaker.session_id);
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, "/login"))
        .cookie(expired_session_cookie())
        .finish())
}

/// One row of the inbox.
struct Row {
    package_id: String,
    student: Option<String>,
    programme: Option<String>,
    sender: String,
    submitted_at: String,
    delete_after: String,
    acknowledged: bool,
    new: bool,
    unreadable: Option<String>,
}

#[derive(Template)]
#[template(path = "desk/inbox.html")]
struct InboxPage {
    chrome: Chrome,
    rows: Vec<Row>,
}

fn day(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d").to_string()
}

fn minute(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// The held copy of `entry` for this intaker, pulled (in their name) and
/// its application read when the desk has none yet.
async fn held_copy(desk: &Desk, intaker: &Intaker, entry: &InboxEntry) -> Result<Held, DeskError> {
    let staff = intaker.session.staff_id;
    if let Some(held) = desk.vault.get(staff, &entry.package_id) {
        return Ok(held);
    }
    let id = package_id(intaker.lang, &entry.package_id)?;
    let dossier = desk
        .broker
        .pull(staff, id)
        .await
        .map_err(|e| intaker.broker_failed(desk, e))?;
    let application = desk
        .broker
        .application(&intaker.session.token, entry.application_id)
        .await
        .map_err(|e| intaker.broker_failed(desk, e))?;
    let held = Held {
        dossier,
        programme: Some(application.application.programme),
        delete_after: Some(entry.delete_after),
    };
    desk.vault.put(staff, held.clone());
    Ok(held)
}

/// At most this many packages are pulled for one view of the inbox: each
/// pull is an access on the broker's record (and counts towards its
/// anomaly alert on pulls per hour), so a long inbox fills in its names
/// over a few refreshes rather than in one burst. The rest link to their
/// page without a name until then.
const PULLS_PER_VIEW: usize = 20;

async fn inbox_row(
    desk: &Desk,
    intaker: &Intaker,
    entry: &InboxEntry,
    new: bool,
    budget: &mut usize,
) -> Result<Row, DeskError> {
    let cached = desk.vault.get(intaker.session.staff_id, &entry.package_id).is_some();
    let copy = if cached || *budget > 0 {
        if !cached {
            *budget -= 1;
        }
        Some(held_copy(desk, intaker, entry).await)
    } else {
        None
    };
    let (held, unreadable) = match copy {
        None => (None, None),
        Some(Ok(held)) => (Some(held), None),
        Some(Err(err)) if matches!(err.kind, Kind::LoginRequired { .. }) => return Err(err),
        Some(Err(err)) => (None, Some(err.message())),
    };
    Ok(Row {
        package_id: entry.package_id.clone(),
        student: held.as_ref().and_then(|h| view::student_name(&h.dossier)),
        programme: held.and_then(|h| h.programme),
        sender: entry.sender.clone(),
        submitted_at: minute(entry.submitted_at),
        delete_after: day(entry.delete_after),
        acknowledged: entry.acknowledged_at.is_some(),
        new,
        unreadable,
    })
}

async fn inbox(desk: web::Data<Desk>, intaker: Intaker) -> Result<HttpResponse, DeskError> {
    let staff = intaker.session.staff_id;
    let entries = desk
        .broker
        .inbox(staff)
        .await
        .map_err(|e| intaker.broker_failed(&desk, e))?;
    desk.vault.prune(&entries);
    let ids: Vec<String> = entries.iter().map(|e| e.package_id.clone()).collect();
    desk.arrivals.catch_up(&desk.broker, &desk.vault, &ids).await;
    let arrived = desk.arrivals.new_for(staff, &ids);
    let mut rows = Vec::with_capacity(entries.len());
    let mut budget = PULLS_PER_VIEW;
    for entry in &entries {
        let new = arrived.contains(&entry.package_id);
        rows.push(inbox_row(&desk, &intaker, entry, new, &mut budget).await?);
    }
    let page = InboxPage {
        chrome: intaker.chrome(),
        rows,
    };
    Ok(html(StatusCode::OK, &page))
}

/// A withheld section, as shown.
struct WithheldView {
    title: &'static str,
    reason: String,
}

struct StatusOption {
    code: &'static str,
    label: &'static str,
}

struct HistoryRow {
    label: &'static str,
    at: String,
    /// The day of the intake, with "intake scheduled".
    intake_on: Option<String>,
}

#[derive(Template)]
#[template(path = "desk/dossier.html")]
struct DossierPage {
    chrome: Chrome,
    package_id: String,
    student: Option<String>,
    programme: Option<String>,
    sender: String,
    sender_name: Option<String>,
    /// The sending school's contact for the warm handover, if it named one.
    contact: Option<HandoverContactBody>,
    submitted_at: String,
    delete_after: Option<String>,
    sections: Vec<SectionView>,
    withheld: Vec<WithheldView>,
    current_status: Option<&'static str>,
    history: Vec<HistoryRow>,
    options: Vec<StatusOption>,
}

fn withheld_views(lang: Lang, withheld: &[Withheld]) -> Vec<WithheldView> {
    withheld
        .iter()
        .map(|w| WithheldView {
            title: lang.section(w.section),
            reason: lang.withheld(&w.reason),
        })
        .collect()
}

fn dossier_page(
    intaker: &Intaker,
    held: &Held,
    application: Option<&ApplicationDetail>,
    (sender_name, contact): (Option<String>, Option<HandoverContactBody>),
) -> DossierPage {
    let lang = intaker.lang;
    let d = &held.dossier;
    DossierPage {
        chrome: intaker.chrome(),
        package_id: d.package_id.clone(),
        student: view::student_name(d),
        programme: held.programme.clone(),
        sender: d.sender.to_string(),
        sender_name,
        contact,
        submitted_at: minute(d.submitted_at),
        delete_after: held.delete_after.map(day),
        sections: view::sections(d, lang),
        withheld: withheld_views(lang, &d.withheld),
        current_status: application.map(|a| lang.status(a.application.status)),
        history: application
            .map(|a| {
                a.history
                    .iter()
                    .map(|h| HistoryRow {
                        label: lang.status(h.status),
                        at: minute(h.reported_at),
                        intake_on: h.intake_on.map(|d| d.format("%Y-%m-%d").to_string()),
                    })
                    .collect()
            })
            .unwrap_or_default(),
        options: REPORTABLE
            .iter()
            .map(|s| StatusOption {
                code: s.as_str(),
                label: lang.status(*s),
            })
            .collect(),
    }
}

/// Pulls the package afresh in the intaker's name (a dossier view is an
/// access on the broker's record) and keeps the copy; a package the broker
/// no longer has is forgotten here too.
async fn fresh_copy(desk: &Desk, intaker: &Intaker, id: Uuid) -> Result<(Held, Option<ApplicationDetail>), DeskError> {
    let staff = intaker.session.staff_id;
    let dossier = match desk.broker.pull(staff, id).await {
        Ok(dossier) => dossier,
        Err(err) => {
            let err = intaker.broker_failed(desk, err);
            if matches!(err.kind, Kind::NotFound) {
                desk.vault.forget(&id.to_string());
            }
            return Err(err);
        }
    };
    let application = match desk
        .broker
        .application(&intaker.session.token, dossier.application_id)
        .await
    {
        Ok(application) => Some(application),
        Err(ClientError::Problem(p)) if p.status == 401 => {
            return Err(intaker.broker_failed(desk, ClientError::Problem(p)));
        }
        Err(_) => None,
    };
    let delete_after = application.as_ref().and_then(|a| {
        a.packages
            .iter()
            .find(|p| p.package_id == dossier.package_id)
            .map(|p| p.delete_after)
    });
    let held = Held {
        programme: application.as_ref().map(|a| a.application.programme.clone()),
        delete_after,
        dossier,
    };
    desk.vault.put(staff, held.clone());
    Ok((held, application))
}

async fn dossier(desk: web::Data<Desk>, intaker: Intaker, path: web::Path<String>) -> Result<HttpResponse, DeskError> {
    let id = package_id(intaker.lang, &path)?;
    let (held, application) = fresh_copy(&desk, &intaker, id).await?;
    let sender = held.dossier.sender.as_str();
    let sender_name = desk.broker.institution_name(sender).await;
    let contact = desk.broker.handover_contact(sender).await;
    let page = dossier_page(&intaker, &held, application.as_ref(), (sender_name, contact));
    Ok(html(StatusCode::OK, &page))
}

async fn acknowledge(
    req: HttpRequest,
    desk: web::Data<Desk>,
    intaker: Intaker,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, DeskError> {
    intaker.check(&req, &parse_form(&body))?;
    let id = package_id(intaker.lang, &path)?;
    desk.broker
        .acknowledge(intaker.session.staff_id, id)
        .await
        .map_err(|e| intaker.broker_failed(&desk, e))?;
    // Back to where the intaker was: the status part of the page.
    Ok(see_other(&format!("/dossiers/{id}#status")))
}

/// The status form's value: one of [`REPORTABLE`], with the day of the
/// intake (field `intake_on`, `YYYY-MM-DD` as a date input sends it; empty
/// is none) for "intake scheduled" only.
fn reportable(lang: Lang, form: &Form) -> Result<StatusReport, DeskError> {
    let raw = form
        .get("status")
        .ok_or_else(|| DeskError::new(lang, Kind::BadRequest("field status is missing".into())))?;
    let status = ApplicationStatus::parse(raw)
        .ok()
        .filter(|s| REPORTABLE.contains(s))
        .ok_or_else(|| DeskError::new(lang, Kind::Unprocessable("status: not a state the desk reports".into())))?;
    let day = match form.get("intake_on").map(|d| d.trim()).filter(|d| !d.is_empty()) {
        None => None,
        Some(raw) => Some(
            chrono::NaiveDate::parse_from_str(raw, "%Y-%m-%d")
                .map_err(|_| DeskError::new(lang, Kind::BadRequest("intake_on: not a date (YYYY-MM-DD)".into())))?,
        ),
    };
    // A day with another status than "intake scheduled" is ignored, not
    // refused: the form sends the date field with every choice.
    let day = day.filter(|_| status == ApplicationStatus::IntakeScheduled);
    StatusReport::new(status, day).map_err(|e| DeskError::new(lang, Kind::Unprocessable(e.to_string())))
}

async fn report_status(
    req: HttpRequest,
    desk: web::Data<Desk>,
    intaker: Intaker,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, DeskError> {
    let form = parse_form(&body);
    intaker.check(&req, &form)?;
    let id = package_id(intaker.lang, &path)?;
    let report = reportable(intaker.lang, &form)?;
    // Only a package this intaker pulled names its application here.
    let held = desk
        .vault
        .get(intaker.session.staff_id, &id.to_string())
        .ok_or_else(|| intaker.fail(Kind::NotFound))?;
    desk.broker
        .report_status(&intaker.session.token, held.dossier.application_id, report)
        .await
        .map_err(|e| intaker.broker_failed(&desk, e))?;
    // Back to where the intaker was: the status part of the page.
    Ok(see_other(&format!("/dossiers/{id}#status")))
}

async fn attachment(
    desk: web::Data<Desk>,
    intaker: Intaker,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, DeskError> {
    let (raw_id, raw_index) = path.into_inner();
    let id = package_id(intaker.lang, &raw_id)?;
    let index: usize = raw_index.parse().map_err(|_| intaker.fail(Kind::NotFound))?;
    // Pulled afresh, as the page: a download is a look on the record, and a
    // package the broker no longer has (or a withdrawn section) is not
    // served from the desk's memory.
    let (held, _) = fresh_copy(&desk, &intaker, id).await?;
    let (name, bytes) = view::attachment(&held.dossier, index).ok_or_else(|| intaker.fail(Kind::NotFound))?;
    // Always a download, never shown inline: the content is the school's.
    Ok(HttpResponse::Ok()
        .content_type("application/octet-stream")
        .insert_header((header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")))
        .body(bytes))
}
