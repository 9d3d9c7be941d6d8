//! The student's own page, `/mijn/{token}` (issue 17): server-rendered,
//! no JavaScript, Dutch at B1 level with the console's English switch,
//! under the console's web rules (the same security headers and
//! Content-Security-Policy, a `__Host-` session cookie of its own,
//! synchronizer CSRF tokens and the same-origin check on every form).
//!
//! * `GET /mijn/{token}` asks for the code, or, with a session of this
//!   link, shows the page (an audited `read_own_file`).
//! * `POST /mijn/{token}` takes the code (`open_link`: counted, locked
//!   after `transparency.max_code_attempts` wrong ones, audited).
//! * A session counts only for the link of the URL it is used with: a
//!   cookie of link A with the URL of link B asks B's code, and shows
//!   nothing of either.
//! * Downloads: the art. 15 report (`/report`) and each signed receipt
//!   (`/receipts/{id}`), each an audited view.

pub mod texts;
pub mod view;

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::{StatusCode, header};
use actix_web::middleware::from_fn;
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use askama::Template;
use doorstroom_app::transparency::{self, LinkSettings, OwnFile};
use doorstroom_app::{AppError, Caller};
use doorstroom_domain::{Brin, Principal};
use serde::Deserialize;
use uuid::Uuid;

use crate::console::i18n::Lang;
use crate::console::session::same_origin;
use crate::console::{remember_language, security_headers};
use crate::request_id::{RequestId, block};
use crate::state::AppState;
use texts::Texts;
use view::PageView;

/// The page's session cookie (`__Host-`: Secure, Path=/, no Domain).
pub const SESSION_COOKIE: &str = "__Host-doorstroom-mijn";

const STYLESHEET: &str = include_str!("../../static/mijn.css");

/// The page's routes, under `/mijn`.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/mijn")
            .wrap(from_fn(security_headers))
            .wrap(from_fn(remember_language))
            .route("/static/mijn.css", web::get().to(stylesheet))
            .route("/{token}", web::get().to(page))
            .route("/{token}", web::post().to(open))
            .route("/{token}/report", web::get().to(report))
            .route("/{token}/receipts/{id}", web::get().to(receipt))
            .route("/{token}/withdraw", web::post().to(withdraw))
            .route("/{token}/logout", web::post().to(logout))
            .default_service(web::to(not_found)),
    );
}

async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=86400"))
        .body(STYLESHEET)
}

// ---------------------------------------------------------------- errors

/// Why a page request ends in a message page.
#[derive(Debug)]
pub struct PageError(Lang, StatusCode, Later);

/// Whether a refusal passes by itself (too many codes from this address:
/// try again later) rather than for good (the link locked).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Later(bool);

impl PageError {
    fn of(lang: Lang, err: &AppError) -> Self {
        let status = match err {
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::TooManyAttempts { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::Forbidden => StatusCode::FORBIDDEN,
            AppError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            AppError::Invalid { .. } | AppError::Malformed { .. } | AppError::Conflict(_) => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            AppError::AuditUnavailable | AppError::Unavailable | AppError::Overloaded { .. } => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            AppError::Internal(cause) => {
                tracing::error!(cause = %cause, "internal error on the student's page");
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        let later = matches!(err, AppError::TooManyAttempts { retry_after_secs } if *retry_after_secs > 0);
        PageError(lang, status, Later(later))
    }

    fn blocked(lang: Lang) -> impl FnOnce(actix_web::error::BlockingError) -> PageError {
        move |_| PageError(lang, StatusCode::SERVICE_UNAVAILABLE, Later(false))
    }
}

impl std::fmt::Display for PageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "student page: {}", self.1)
    }
}

#[derive(Template)]
#[template(path = "mijn/message.html")]
struct MessagePage {
    t: &'static Texts,
    lang: &'static str,
    other_lang: &'static str,
    message: &'static str,
}

impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        self.1
    }

    fn error_response(&self) -> HttpResponse {
        let PageError(lang, status, Later(later)) = *self;
        let t = Texts::of(lang);
        let message = match status {
            StatusCode::NOT_FOUND => t.gone,
            StatusCode::TOO_MANY_REQUESTS if later => t.try_later,
            StatusCode::TOO_MANY_REQUESTS => t.locked,
            StatusCode::FORBIDDEN | StatusCode::UNAUTHORIZED | StatusCode::UNPROCESSABLE_ENTITY => t.forbidden,
            _ => t.unavailable,
        };
        let page = MessagePage {
            t,
            lang: lang.code(),
            other_lang: lang.other().code(),
            message,
        };
        match page.render() {
            Ok(body) => HttpResponse::build(status)
                .content_type("text/html; charset=utf-8")
                .body(body),
            Err(_) => HttpResponse::InternalServerError()
                .content_type("text/plain; charset=utf-8")
                .body("internal error"),
        }
    }
}

async fn not_found(req: HttpRequest) -> HttpResponse {
    PageError(Lang::of(&req), StatusCode::NOT_FOUND, Later(false)).error_response()
}

// ---------------------------------------------------------------- sessions

/// A valid session of the link of the URL's token: its principal and id.
struct Visitor {
    principal: Principal,
    school: Brin,
    session_id: String,
}

/// The session of `req` if it is valid and belongs to the link of
/// `token` (touched); `None` otherwise.
fn visitor(state: &AppState, session: Option<String>, token: &str) -> Result<Option<Visitor>, AppError> {
    let Some(session_id) = session else {
        return Ok(None);
    };
    let settings = state.settings.transparency;
    let Some(principal) = transparency::session_principal(&state.app, &session_id, &settings)? else {
        return Ok(None);
    };
    let of_url = transparency::link_of_token(&state.app, token)?;
    match principal.clone() {
        Principal::StudentLink { link, school, .. } if Some(link) == of_url => Ok(Some(Visitor {
            principal,
            school,
            session_id,
        })),
        _ => Ok(None),
    }
}

fn session_cookie(value: &str) -> Cookie<'static> {
    Cookie::build(SESSION_COOKIE, value.to_owned())
        .path("/")
        .secure(true)
        .http_only(true)
        .same_site(SameSite::Strict)
        .finish()
}

/// What every request of the page starts from.
struct Visit {
    lang: Lang,
    token: String,
    session: Option<String>,
    request_id: String,
}

impl Visit {
    fn of(req: &HttpRequest, token: String) -> Self {
        Visit {
            lang: Lang::of(req),
            token,
            session: req.cookie(SESSION_COOKIE).map(|c| c.value().to_owned()),
            request_id: RequestId::of(req),
        }
    }

    /// Back to the page itself (after a form, or without a session).
    fn to_page(&self) -> HttpResponse {
        HttpResponse::SeeOther()
            .insert_header((header::LOCATION, format!("/mijn/{}", self.token)))
            .finish()
    }

    /// Runs `work` for this visit's valid session off the executor;
    /// `None` without one.
    async fn with_session<T: Send + 'static>(
        self,
        state: &web::Data<AppState>,
        work: impl FnOnce(&AppState, &Visitor, Caller<'_>, &LinkSettings) -> Result<T, AppError> + Send + 'static,
    ) -> Result<Option<T>, PageError> {
        let (lang, st) = (self.lang, state.clone());
        block(move || {
            let Some(v) = visitor(&st, self.session, &self.token)? else {
                return Ok(None);
            };
            let caller = Caller::new(&v.principal, Some(&self.request_id));
            work(&st, &v, caller, &st.settings.transparency).map(Some)
        })
        .await
        .map_err(PageError::blocked(lang))?
        .map_err(|e| PageError::of(lang, &e))
    }
}

// ---------------------------------------------------------------- pages

#[derive(Template)]
#[template(path = "mijn/code.html")]
struct CodePage {
    t: &'static Texts,
    lang: &'static str,
    other_lang: &'static str,
    token: String,
    error: Option<&'static str>,
}

fn code_page(lang: Lang, token: String, error: Option<&'static str>, status: StatusCode) -> HttpResponse {
    let page = CodePage {
        t: Texts::of(lang),
        lang: lang.code(),
        other_lang: lang.other().code(),
        token,
        error,
    };
    html(status, page.render())
}

fn html(status: StatusCode, rendered: Result<String, askama::Error>) -> HttpResponse {
    match rendered {
        Ok(body) => HttpResponse::build(status)
            .content_type("text/html; charset=utf-8")
            .body(body),
        Err(err) => {
            tracing::error!(cause = %err, "student page failed to render");
            HttpResponse::InternalServerError()
                .content_type("text/plain; charset=utf-8")
                .body("internal error")
        }
    }
}

#[derive(Template)]
#[template(path = "mijn/page.html")]
struct OwnPage {
    t: &'static Texts,
    lang: &'static str,
    other_lang: &'static str,
    token: String,
    csrf: String,
    view: PageView,
    notice: Option<&'static str>,
    /// The id of a receipt just signed (a withdrawal), to download.
    receipt: Option<String>,
}

/// The page itself: what one view shows, with an optional notice.
struct Shown {
    file: OwnFile,
    school: Brin,
    csrf: String,
}

fn own_page(state: &AppState, visit: &Visit, shown: Shown, receipt: Option<Uuid>) -> HttpResponse {
    let lang = visit.lang;
    let signed = shown.file.signed_log.as_ref().is_some_and(|log| {
        let checkpoint = &log.checkpoint;
        state
            .checkpoints
            .signed(&checkpoint.signed_note, checkpoint.size, &checkpoint.root)
    });
    let bases = &state.app.rules.lawful_basis;
    let view = view::page_view(&shown.file, &shown.school, bases, lang, &visit.token, signed);
    let page = OwnPage {
        t: Texts::of(lang),
        lang: lang.code(),
        other_lang: lang.other().code(),
        token: visit.token.clone(),
        csrf: shown.csrf,
        view,
        notice: receipt.as_ref().map(|_| Texts::of(lang).withdraw_done),
        receipt: receipt.map(|id| id.to_string()),
    };
    html(StatusCode::OK, page.render())
}

/// `GET /mijn/{token}`: the page with a session of this link, else the
/// code form (for any token: the form tells nothing about the link).
async fn page(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let visit = Visit::of(&req, path.into_inner());
    let (lang, token) = (visit.lang, visit.token.clone());
    let probe = Visit::of(&req, token.clone());
    let shown = probe
        .with_session(&state, |st, v, caller, settings| {
            Ok(Shown {
                file: transparency::own_file(&st.app, caller, settings)?,
                school: v.school.clone(),
                csrf: transparency::csrf_token(&st.app, &v.session_id),
            })
        })
        .await?;
    Ok(match shown {
        Some(shown) => own_page(&state, &visit, shown, None),
        None => code_page(lang, token, None, StatusCode::OK),
    })
}

#[derive(Deserialize)]
struct CodeForm {
    code: String,
}

/// `POST /mijn/{token}`: the code. Right: a session and back to the page.
async fn open(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: web::Form<CodeForm>,
) -> Result<HttpResponse, PageError> {
    let visit = Visit::of(&req, path.into_inner());
    let lang = visit.lang;
    same_origin(&req, lang).map_err(|_| PageError(lang, StatusCode::FORBIDDEN, Later(false)))?;
    let (st, token, rid, code) = (
        state.clone(),
        visit.token.clone(),
        visit.request_id.clone(),
        form.into_inner().code,
    );
    let address = req.peer_addr().map(|a| a.ip().to_string()).unwrap_or_default();
    let opened = block(move || {
        let attempt = transparency::CodeAttempt {
            request_id: Some(&rid),
            token: &token,
            code: &code,
            address: &address,
        };
        transparency::open_link(&st.app, attempt, &st.settings.transparency)
    })
    .await
    .map_err(PageError::blocked(lang))?;
    match opened {
        Ok(opened) => {
            let mut res = visit.to_page();
            let cookie = session_cookie(&opened.session_id);
            res.add_cookie(&cookie)
                .map_err(|_| PageError(lang, StatusCode::INTERNAL_SERVER_ERROR, Later(false)))?;
            Ok(res)
        }
        Err(AppError::Unauthenticated(_)) => Ok(code_page(
            lang,
            visit.token,
            Some(Texts::of(lang).code_wrong),
            StatusCode::UNAUTHORIZED,
        )),
        Err(err) => Err(PageError::of(lang, &err)),
    }
}

/// `GET /mijn/{token}/report`: the art. 15 report as a JSON download.
async fn report(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let visit = Visit::of(&req, path.into_inner());
    let back = visit.to_page();
    let report = Visit::of(&req, visit.token.clone())
        .with_session(&state, |st, _, caller, settings| {
            transparency::own_report(&st.app, caller, settings)
        })
        .await?;
    let Some(report) = report else { return Ok(back) };
    Ok(HttpResponse::Ok()
        .insert_header((
            header::CONTENT_DISPOSITION,
            "attachment; filename=\"mijn-doorstroomdossier.json\"",
        ))
        .json(report))
}

/// `GET /mijn/{token}/receipts/{id}`: one signed receipt (a JWS).
async fn receipt(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, PageError> {
    let (token, raw_id) = path.into_inner();
    let visit = Visit::of(&req, token);
    let lang = visit.lang;
    let id = Uuid::parse_str(&raw_id).map_err(|_| PageError(lang, StatusCode::NOT_FOUND, Later(false)))?;
    let back = visit.to_page();
    let jws = visit
        .with_session(&state, move |st, _, caller, _| {
            transparency::own_receipt(&st.app, caller, id)
        })
        .await?;
    let Some(jws) = jws else { return Ok(back) };
    Ok(HttpResponse::Ok()
        .content_type("application/jose")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"ontvangstbewijs-{id}.jws\""),
        ))
        .body(jws))
}

#[derive(Deserialize)]
struct CsrfForm {
    csrf: String,
}

/// Whether `given` is the session's CSRF token (constant time).
fn csrf_ok(state: &AppState, session_id: &str, given: &str) -> bool {
    let expected = transparency::csrf_token(&state.app, session_id);
    expected.len() == given.len() && openssl::memcmp::eq(expected.as_bytes(), given.as_bytes())
}

/// `POST /mijn/{token}/logout`: ends the session.
async fn logout(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, PageError> {
    let visit = Visit::of(&req, path.into_inner());
    let lang = visit.lang;
    same_origin(&req, lang).map_err(|_| PageError(lang, StatusCode::FORBIDDEN, Later(false)))?;
    let mut res = visit.to_page();
    let given = form.into_inner().csrf;
    let ended = Visit::of(&req, visit.token.clone())
        .with_session(&state, move |st, v, _, _| match csrf_ok(st, &v.session_id, &given) {
            true => transparency::end_session(&st.app, &v.session_id).map(|()| true),
            false => Ok(false),
        })
        .await?;
    if ended == Some(false) {
        return Err(PageError(lang, StatusCode::FORBIDDEN, Later(false)));
    }
    let mut gone = session_cookie("");
    gone.make_removal();
    res.add_cookie(&gone)
        .map_err(|_| PageError(lang, StatusCode::INTERNAL_SERVER_ERROR, Later(false)))?;
    Ok(res)
}

#[derive(Deserialize)]
struct WithdrawForm {
    csrf: String,
    recipient: String,
    section: String,
    by: String,
}

/// `POST /mijn/{token}/withdraw`: withdraws consent for one section to one
/// mbo, and shows the page with the signed receipt.
async fn withdraw(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: web::Form<WithdrawForm>,
) -> Result<HttpResponse, PageError> {
    let visit = Visit::of(&req, path.into_inner());
    let lang = visit.lang;
    same_origin(&req, lang).map_err(|_| PageError(lang, StatusCode::FORBIDDEN, Later(false)))?;
    let form = form.into_inner();
    let done = Visit::of(&req, visit.token.clone())
        .with_session(&state, move |st, v, caller, settings| {
            if !csrf_ok(st, &v.session_id, &form.csrf) {
                return Err(AppError::Forbidden);
            }
            let asked = transparency::WithdrawalAsk::parse(&form.recipient, &form.section, &form.by)?;
            let receipt = transparency::withdraw_on_page(&st.app, caller, asked)?;
            let shown = Shown {
                file: transparency::own_file(&st.app, caller, settings)?,
                school: v.school.clone(),
                csrf: transparency::csrf_token(&st.app, &v.session_id),
            };
            Ok((shown, receipt))
        })
        .await?;
    match done {
        Some((shown, receipt)) => Ok(own_page(&state, &visit, shown, Some(receipt))),
        None => Ok(visit.to_page()),
    }
}
