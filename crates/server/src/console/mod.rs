//! The web console: server-rendered pages (askama templates in
//! `templates/console/`, a stylesheet of our own, no JavaScript) for
//! privacy officers and institution admins, in Dutch with an English
//! switch, under `/console/`.
//!
//! Design decisions:
//! * Every page that shows personal data calls the same service function
//!   as the API (`doorstroom_app::audit_log::search_audit_log`, `report::report_for`,
//!   `ledger::consent_history`, `staff::*`, `registry::list_keys`, …),
//!   so authorization (the domain's `authorize`) and the audit event are
//!   exactly the API's: a page view is an audited access. Which menu items
//!   a user sees is asked of `authorize` too ([`pages::menu`]).
//! * Sessions, cookies and CSRF: see [`session`].
//! * Student numbers are only ever posted in forms, never put in a URL;
//!   paging re-posts the search form with the next position.
//! * Every console response carries a strict Content-Security-Policy (no
//!   scripts at all, styles only from our own stylesheet) and the other
//!   security headers ([`security_headers`]); pages are `no-store`.
//! * Wire codes (actions, purposes, outcomes, statuses, sections, …) are
//!   shown by their label in the page's language, the code beside it for
//!   matching against the API ([`labels`]); exports keep the codes.
//! * Errors are pages, never problem+json and never a stack trace: bad form
//!   input shows the form again with the message next to the field (422),
//!   "not found" and "not yours" look the same (404).
//! * Pages are answered through `askama_web` (`#[derive(WebTemplate)]`, its
//!   actix-web `Responder`): 200 as they are, any other status through
//!   [`WithStatus`]; only error pages are rendered by hand, in
//!   [`ConsoleError`]'s `error_response`, which has no request.

pub mod i18n;
pub mod labels;
pub mod pages;
pub mod session;

use actix_web::body::MessageBody;
use actix_web::cookie::{Cookie, SameSite};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::{Next, from_fn};
use actix_web::{HttpRequest, HttpResponse, Responder, ResponseError, web};
use askama::Template;

use crate::error::ApiError;
use i18n::{LANG_COOKIE, Lang, query_lang};

/// The console's Content-Security-Policy: nothing but our own stylesheet
/// and images, forms only to ourselves, never framed.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; \
     frame-ancestors 'none'; base-uri 'none'";

const STYLESHEET: &str = include_str!("../../static/console.css");

/// The console's routes, under `/console`.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/console")
            .wrap(from_fn(security_headers))
            .wrap(from_fn(remember_language))
            .route("/static/console.css", web::get().to(stylesheet))
            .route("", web::get().to(pages::home))
            .route("/", web::get().to(pages::home))
            .route("/login", web::get().to(pages::login_form))
            .route("/login", web::post().to(pages::login))
            .route("/logout", web::post().to(pages::logout))
            .route("/audit", web::get().to(pages::audit_page))
            .route("/audit", web::post().to(pages::audit_search_page))
            .route("/report", web::get().to(pages::report_form))
            .route("/report", web::post().to(pages::report))
            .route("/history", web::get().to(pages::history_form))
            .route("/history", web::post().to(pages::history))
            .route("/staff", web::get().to(pages::staff_page))
            .route("/staff", web::post().to(pages::staff_create))
            .route("/staff/{id}/second-factor", web::post().to(pages::staff_reset))
            .route("/staff/{id}/deactivate", web::post().to(pages::staff_deactivate))
            .route("/keys", web::get().to(pages::keys_page))
            .route("/keys/webhook", web::post().to(pages::webhook_set))
            .route("/keys/webhook/remove", web::post().to(pages::webhook_remove))
            .route("/contact", web::get().to(pages::contact_page))
            .route("/contact", web::post().to(pages::contact_save))
            .route("/safety-net", web::get().to(pages::safety_net_page))
            .route("/register", web::get().to(pages::register_page))
            .route("/figures", web::get().to(pages::figures_page))
            .route("/figures.csv", web::get().to(pages::figures_csv))
            .default_service(web::to(pages::not_found)),
    );
}

async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        // Changes with the binary only; a day is long enough.
        .insert_header((header::CACHE_CONTROL, "public, max-age=86400"))
        .body(STYLESHEET)
}

/// The security headers of every console response. Pages are `no-store`
/// (they may show personal data); only the stylesheet may be cached.
pub(crate) async fn security_headers(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let mut res = next.call(req).await?;
    let headers = res.headers_mut();
    let fixed = [
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::STRICT_TRANSPORT_SECURITY, "max-age=31536000"),
        (
            header::HeaderName::from_static("cross-origin-opener-policy"),
            "same-origin",
        ),
    ];
    for (name, value) in fixed {
        headers.insert(name, HeaderValue::from_static(value));
    }
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    Ok(res)
}

/// `?lang=en` / `?lang=nl` on any console page sets the language cookie.
pub(crate) async fn remember_language(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let chosen = query_lang(req.request());
    let mut res = next.call(req).await?;
    if let Some(lang) = chosen {
        let cookie = Cookie::build(LANG_COOKIE, lang.code())
            .path("/")
            .secure(true)
            .http_only(true)
            .same_site(SameSite::Strict)
            .max_age(actix_web::cookie::time::Duration::days(365))
            .finish();
        if let Ok(value) = HeaderValue::from_str(&cookie.to_string()) {
            res.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    Ok(res)
}

/// Why a console request ends in an error page (or the login page).
#[derive(Debug)]
pub enum ConsoleError {
    /// No valid session: to the login page.
    LoginRequired { expired: bool },
    /// A form without the right CSRF token, or from another site (403).
    Csrf(Lang),
    /// A failure of a shared service, as a page in `lang`.
    Api(Lang, ApiError),
}

impl ConsoleError {
    pub fn api(lang: Lang, err: ApiError) -> Self {
        ConsoleError::Api(lang, err)
    }
}

impl std::fmt::Display for ConsoleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConsoleError::LoginRequired { .. } => f.write_str("login required"),
            ConsoleError::Csrf(_) => f.write_str("CSRF check failed"),
            ConsoleError::Api(_, err) => write!(f, "{err}"),
        }
    }
}

/// The error page (rendered in [`ResponseError::error_response`]).
#[derive(Template)]
#[template(path = "console/error.html")]
struct ErrorPage {
    chrome: pages::Chrome,
    message: String,
}

impl ResponseError for ConsoleError {
    fn status_code(&self) -> StatusCode {
        match self {
            ConsoleError::LoginRequired { .. } => StatusCode::SEE_OTHER,
            ConsoleError::Csrf(_) => StatusCode::FORBIDDEN,
            ConsoleError::Api(_, err) => err.status_code(),
        }
    }

    fn error_response(&self) -> HttpResponse {
        let (lang, message) = match self {
            ConsoleError::LoginRequired { expired } => {
                let target = if *expired {
                    "/console/login?expired=1"
                } else {
                    "/console/login"
                };
                return HttpResponse::SeeOther()
                    .insert_header((header::LOCATION, target))
                    .finish();
            }
            ConsoleError::Csrf(lang) => (*lang, lang.messages().error_csrf.to_owned()),
            ConsoleError::Api(lang, err) => {
                let t = lang.messages();
                let message = match err {
                    ApiError::NotFound => t.error_not_found.to_owned(),
                    ApiError::Forbidden | ApiError::Unauthenticated(_) => t.error_forbidden.to_owned(),
                    // The API's own words: they name the rule, never a value.
                    ApiError::Malformed { .. } | ApiError::Invalid { .. } | ApiError::Conflict(_) => {
                        format!("{} ({err})", t.error_bad_request)
                    }
                    ApiError::TooManyAttempts { .. } => t.login_rate_limited.to_owned(),
                    ApiError::AuditUnavailable | ApiError::Unavailable | ApiError::Overloaded { .. } => {
                        t.error_unavailable.to_owned()
                    }
                    ApiError::TooLarge { .. } | ApiError::UnsupportedMediaType | ApiError::MethodNotAllowed { .. } => {
                        t.error_bad_request.to_owned()
                    }
                    ApiError::RequestTimeout(_) => format!("{} ({err})", t.error_bad_request),
                    ApiError::Internal(cause) => {
                        tracing::error!(cause = %cause, "internal error on a console page");
                        t.error_internal.to_owned()
                    }
                };
                (*lang, message)
            }
        };
        let page = ErrorPage {
            chrome: pages::Chrome::anonymous(lang),
            message,
        };
        // The one page rendered with askama directly rather than through
        // askama_web's responder: `error_response` gets no request to
        // respond to. A failure is a bare 500 without detail, as askama_web's.
        match page.render() {
            Ok(body) => {
                let mut response = HttpResponse::build(self.status_code());
                if self.status_code() == StatusCode::SERVICE_UNAVAILABLE {
                    // An outage: worth another try in a moment, as in the API.
                    response.insert_header((header::RETRY_AFTER, crate::error::RETRY_AFTER_SECS.to_string()));
                }
                response.content_type("text/html; charset=utf-8").body(body)
            }
            Err(err) => {
                tracing::error!(cause = %err, "console error page failed to render");
                HttpResponse::InternalServerError()
                    .content_type("text/plain; charset=utf-8")
                    .body("internal error")
            }
        }
    }
}

/// A console page answered with `status` instead of askama_web's 200: the
/// console answers its templates with 401, 403, 409, 422 or 429 too.
///
/// Pages derive askama_web's `WebTemplate`, whose actix-web `Responder`
/// renders them as `text/html; charset=utf-8` with 200, or, when a template
/// fails to render, logs the error (askama_web's `tracing-0.1` feature) and
/// answers a bare 500, `text/plain` "INTERNAL SERVER ERROR", no detail. This
/// wrapper sets `status` only on a page that rendered: actix-web's own
/// `customize().with_status(..)` and `(page, status)` would set it over
/// that 500 too.
pub struct WithStatus<P>(pub StatusCode, pub P);

impl<P: Responder> Responder for WithStatus<P> {
    type Body = P::Body;

    fn respond_to(self, req: &HttpRequest) -> HttpResponse<Self::Body> {
        let WithStatus(status, page) = self;
        let mut res = page.respond_to(req);
        if res.status() == StatusCode::OK {
            *res.status_mut() = status;
        }
        res
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use actix_web::body::MessageBody;
    use actix_web::test::TestRequest;
    use askama_web::WebTemplate;

    #[derive(Template, WebTemplate)]
    #[template(source = "<p>{{ value }}</p>", ext = "html")]
    struct Probe<V: std::fmt::Display> {
        value: V,
    }

    /// A value whose formatting fails, as a template's can.
    struct Unprintable;

    impl std::fmt::Display for Unprintable {
        fn fmt(&self, _: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            Err(std::fmt::Error)
        }
    }

    fn answer(page: impl Responder<Body = actix_web::body::BoxBody>) -> (StatusCode, String, String) {
        let res = page.respond_to(&TestRequest::default().to_http_request());
        let content_type = res
            .headers()
            .get(header::CONTENT_TYPE)
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        let status = res.status();
        let body = res.into_body().try_into_bytes().unwrap();
        (status, content_type, String::from_utf8(body.to_vec()).unwrap())
    }

    #[test]
    fn a_rendered_page_is_html_with_the_status_asked_for() {
        let (status, content_type, body) = answer(WithStatus(StatusCode::UNPROCESSABLE_ENTITY, Probe { value: "a<b" }));
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(content_type, "text/html; charset=utf-8");
        assert_eq!(body, "<p>a&#60;b</p>");
    }

    #[test]
    fn a_page_that_fails_to_render_is_a_bare_500_whatever_status_was_asked_for() {
        let (status, content_type, body) = answer(WithStatus(
            StatusCode::UNPROCESSABLE_ENTITY,
            Probe { value: Unprintable },
        ));
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(content_type, "text/plain; charset=utf-8");
        assert!(!body.contains("<p>"), "{body}");
        assert!(body.to_lowercase().contains("internal"), "{body}");
    }
}
