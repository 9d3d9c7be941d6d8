//! Why a desk request ends in an error page (or at the login page). Errors
//! are pages, never a stack trace; "not found" and "not yours" look the same
//! (the broker answers both with one 404); a broker that cannot be reached
//! is a 503 page; nothing is ever a 500 but a template that fails.

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpResponse, ResponseError};
use askama::Template;
use doorstroom_client::ClientError;

use crate::chrome::Chrome;
use crate::i18n::Lang;

#[derive(Debug)]
pub enum Kind {
    /// No valid session: to the login page.
    LoginRequired {
        expired: bool,
    },
    /// A form without the right CSRF token, or from another site (403).
    Csrf,
    NotFound,
    /// A malformed request or form (400) with what is wrong.
    BadRequest(String),
    /// A form value the desk does not take (422).
    Unprocessable(String),
    /// The broker refused a status move (409), in its words.
    Conflict(String),
    /// The broker cannot be reached or answered unexpectedly (503).
    Broker,
    /// A pulled package that does not verify (502): the school's signature,
    /// the key chain or the envelope failed a check.
    Unverifiable(String),
}

#[derive(Debug)]
pub struct DeskError {
    pub lang: Lang,
    pub kind: Kind,
}

impl DeskError {
    pub fn new(lang: Lang, kind: Kind) -> Self {
        DeskError { lang, kind }
    }

    /// A broker answer as a page: 401 ends the session (the token expired
    /// or the account was stopped), 404 is "not found", 409 the broker's
    /// rule, a failed check of the package 502, anything else 503.
    pub fn broker(lang: Lang, err: ClientError) -> Self {
        let kind = match &err {
            ClientError::Problem(p) if p.status == 401 => Kind::LoginRequired { expired: true },
            ClientError::Problem(p) if p.status == 404 => Kind::NotFound,
            ClientError::Problem(p) if p.status == 409 => Kind::Conflict(p.detail.clone()),
            ClientError::Problem(p) if p.status == 400 || p.status == 422 => Kind::BadRequest(p.detail.clone()),
            ClientError::UntrustedKey { .. }
            | ClientError::KeyOfAnotherInstitution { .. }
            | ClientError::NoKey { .. }
            | ClientError::Package(_)
            | ClientError::Mismatch(_) => Kind::Unverifiable(err.to_string()),
            _ => {
                tracing::warn!(error = %err, "broker call failed");
                Kind::Broker
            }
        };
        DeskError { lang, kind }
    }
}

impl DeskError {
    /// The page's message: the broker's words where they name a rule,
    /// never a value.
    pub fn message(&self) -> String {
        let t = self.lang.messages();
        match &self.kind {
            Kind::LoginRequired { .. } => t.login_expired.to_owned(),
            Kind::Csrf => t.error_csrf.to_owned(),
            Kind::NotFound => t.error_not_found.to_owned(),
            Kind::BadRequest(why) | Kind::Unprocessable(why) => format!("{} ({why})", t.error_bad_request),
            Kind::Conflict(why) => format!("{}: {why}", t.error_conflict),
            Kind::Broker => t.error_broker.to_owned(),
            Kind::Unverifiable(why) => why.clone(),
        }
    }
}

impl std::fmt::Display for DeskError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.kind)
    }
}

#[derive(Template)]
#[template(path = "desk/error.html")]
struct ErrorPage {
    chrome: Chrome,
    message: String,
}

impl ResponseError for DeskError {
    fn status_code(&self) -> StatusCode {
        match self.kind {
            Kind::LoginRequired { .. } => StatusCode::SEE_OTHER,
            Kind::Csrf => StatusCode::FORBIDDEN,
            Kind::NotFound => StatusCode::NOT_FOUND,
            Kind::BadRequest(_) => StatusCode::BAD_REQUEST,
            Kind::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Kind::Conflict(_) => StatusCode::CONFLICT,
            Kind::Broker => StatusCode::SERVICE_UNAVAILABLE,
            Kind::Unverifiable(_) => StatusCode::BAD_GATEWAY,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let Kind::LoginRequired { expired } = self.kind {
            let target = if expired { "/login?expired=1" } else { "/login" };
            return HttpResponse::SeeOther()
                .insert_header((header::LOCATION, target))
                .finish();
        }
        let message = self.message();
        let page = ErrorPage {
            chrome: Chrome::anonymous(self.lang),
            message,
        };
        match page.render() {
            Ok(body) => {
                let mut response = HttpResponse::build(self.status_code());
                if matches!(self.kind, Kind::Broker) {
                    // An outage of the broker: worth another try shortly.
                    response.insert_header((header::RETRY_AFTER, "5"));
                }
                response.content_type("text/html; charset=utf-8").body(body)
            }
            Err(err) => {
                tracing::error!(cause = %err, "desk error page failed to render");
                HttpResponse::InternalServerError()
                    .content_type("text/plain; charset=utf-8")
                    .body("internal error")
            }
        }
    }
}
