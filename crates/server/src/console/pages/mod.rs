//! The console's pages, one module per subject. Each handler parses its
//! form, calls the service function the API uses (so the access is
//! authorized and audited the same way) and renders the result. This module
//! holds what they share: the page chrome and menu, formatting and form
//! parsing.

mod audit;
mod contact;
mod figures;
mod keys;
mod login;
mod register;
mod safety_net;
mod staff;
mod students;

pub use audit::{audit_page, audit_search_page};
pub use contact::{contact_page, contact_save};
pub use figures::{figures_csv, figures_page};
pub use keys::{keys_page, webhook_remove, webhook_set};
pub use login::{login, login_form, logout};
pub use register::register_page;
pub use safety_net::safety_net_page;
pub use staff::{staff_create, staff_deactivate, staff_page, staff_reset};
pub use students::{history, history_form, report, report_form};

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{Either, HttpRequest, HttpResponse, Responder, web};
use askama::Template;
use askama_web::WebTemplate;
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use chrono_tz::Europe::Amsterdam;
use doorstroom_api::audit::{AuditSearch, EventPage, SequencedEvent};
use doorstroom_api::consents::History;
use doorstroom_api::report::SubjectReport;
use doorstroom_app::ledger::consent_history;
use doorstroom_domain::{
    Action, Brin, ConsentEventKind, ConsentMethod, GivenBy, InspectedBy, Outcome, Password, Principal, Resource, Role,
    Section, StaffId, StaffStatus, StudentNumber, Username, authorize, may_create_staff, own_scope_rights,
};
use doorstroom_store::console_sessions;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::i18n::{Lang, Messages};
use super::labels::{self, Label};
use super::session::{self, ConsoleUser, same_origin, session_cookie};
use super::{ConsoleError, WithStatus};
use crate::error::ApiError;
use crate::handlers::audit::to_csv;
use crate::handlers::report::report_for;
use crate::handlers::staff::{check_login, login_attempt};
use crate::state::AppState;
use doorstroom_api::staff::{CreateStaff, StaffView};
use doorstroom_app::{registry, staff as staff_use_cases};

// ---------------------------------------------------------------- chrome

/// One entry of the navigation.
pub struct MenuItem {
    pub href: &'static str,
    pub label: &'static str,
    pub current: bool,
}

/// What every page shows around its content: language, user, menu.
pub struct Chrome {
    pub t: &'static Messages,
    pub lang: &'static str,
    pub other_lang: &'static str,
    pub user: Option<String>,
    pub csrf: String,
    pub menu: Vec<MenuItem>,
}

impl Chrome {
    pub fn anonymous(lang: Lang) -> Chrome {
        Chrome {
            t: lang.messages(),
            lang: lang.code(),
            other_lang: lang.other().code(),
            user: None,
            csrf: String::new(),
            menu: Vec::new(),
        }
    }

    fn of(user: &ConsoleUser, current: &str) -> Chrome {
        let mut menu = menu(&user.caller.principal, user.lang.messages());
        for item in &mut menu {
            item.current = item.href == current;
        }
        Chrome {
            t: user.lang.messages(),
            lang: user.lang.code(),
            other_lang: user.lang.other().code(),
            user: Some(format!(
                "{} ({})",
                user.account.display_name,
                user.account.username.as_str()
            )),
            csrf: user.csrf.clone(),
            menu,
        }
    }
}

/// The pages the domain's policy lets this user use
/// ([`own_scope_rights`]). Only navigation: each page's access is decided
/// again (and audited) when it is opened.
pub fn menu(principal: &Principal, t: &'static Messages) -> Vec<MenuItem> {
    let rights = own_scope_rights(principal);
    let mut items: Vec<(&'static str, &'static str)> = Vec::new();
    let mut add = |offered: bool, href, label| {
        if offered {
            items.push((href, label));
        }
    };
    add(rights.read_audit_log, "/console/audit", t.nav_audit);
    add(rights.read_audit_log, "/console/report", t.nav_report);
    add(rights.read_consent_history, "/console/history", t.nav_history);
    add(rights.manage_staff, "/console/staff", t.nav_staff);
    add(rights.manage_keys, "/console/keys", t.nav_keys);
    add(rights.read_safety_net, "/console/safety-net", t.nav_safety_net);
    add(rights.manage_contact, "/console/contact", t.nav_contact);
    add(rights.read_regional_figures, "/console/figures", t.nav_figures);
    add(rights.any(), "/console/register", t.nav_register);
    items
        .into_iter()
        .map(|(href, label)| MenuItem {
            href,
            label,
            current: false,
        })
        .collect()
}

// ------------------------------------------------------------ formatting

fn when(t: &DateTime<Utc>) -> String {
    t.with_timezone(&Amsterdam).format("%d-%m-%Y %H:%M:%S").to_string()
}

fn when_opt(t: &Option<DateTime<Utc>>) -> String {
    t.as_ref().map(when).unwrap_or_else(|| "—".into())
}

/// A wire code as a page shows it: its label in the page's language first,
/// the code itself beside it (in a `<code>` or a `title`) so that a row can
/// be matched against the API and the exports; a code without a label is
/// shown as it is.
pub(super) struct Coded {
    pub(super) label: Option<&'static str>,
    pub(super) code: String,
}

impl Coded {
    fn new(lang: Lang, label: Option<Label>, code: impl Into<String>) -> Coded {
        Coded {
            label: label.map(|l| l.of(lang)),
            code: code.into(),
        }
    }

    /// A code that the domain parses into an enum with labels; a code it
    /// does not parse (an older or newer record) keeps no label.
    fn parsed<T, E>(lang: Lang, raw: &str, parse: fn(&str) -> Result<T, E>, label: fn(T) -> Label) -> Coded {
        Coded::new(lang, parse(raw).ok().map(label), raw)
    }

    /// What the page shows first: the label, or the code without one.
    pub(super) fn text(&self) -> &str {
        self.label.unwrap_or(&self.code)
    }
}

pub(crate) fn role_label(t: &Messages, role: Role) -> &'static str {
    match role {
        Role::Intaker => t.role_intaker,
        Role::InstitutionAdmin => t.role_institution_admin,
        Role::PrivacyOfficer => t.role_privacy_officer,
        Role::BrokerAdmin => t.role_broker_admin,
        Role::RegionalCoordinator => t.role_regional_coordinator,
        Role::CareCoordinator => t.role_care_coordinator,
    }
}

/// A form body, parsed leniently (every field a string, unknown fields such
/// as the submit button ignored); only a body that is not a form is a 400.
/// A control character in any field is refused like in a JSON body
/// (see [`crate::extract::TextKind::FreeText`]).
fn parse_form<T: DeserializeOwned>(lang: Lang, body: &[u8]) -> Result<T, ConsoleError> {
    crate::extract::check_form(body).map_err(|err| ConsoleError::api(lang, err))?;
    serde_urlencoded::from_bytes(body).map_err(|_| {
        ConsoleError::api(
            lang,
            ApiError::Malformed {
                detail: "form: malformed (a field given twice, or not a form body)".into(),
                pointer: None,
            },
        )
    })
}

/// A student number as typed: a BSN or an onderwijsnummer (the two sets are
/// disjoint, so the kind follows from the number).
fn student_number(raw: &str, t: &Messages) -> Result<StudentNumber, &'static str> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Err(t.student_number_required);
    }
    StudentNumber::bsn(raw)
        .or_else(|_| StudentNumber::onderwijsnummer(raw))
        .map_err(|_| t.student_number_invalid)
}

/// A form that carries nothing but its CSRF token (logout, staff actions).
#[derive(Deserialize)]
struct CsrfOnly {
    #[serde(default)]
    csrf: String,
}

// ------------------------------------------------------------------ home

#[derive(Template, WebTemplate)]
#[template(path = "console/home.html")]
struct HomePage {
    chrome: Chrome,
}

pub async fn home(user: ConsoleUser) -> impl Responder {
    let chrome = Chrome::of(&user, "/console/");
    // Intakers (and any role without a console page) are told so.
    let status = if chrome.menu.is_empty() {
        StatusCode::FORBIDDEN
    } else {
        StatusCode::OK
    };
    WithStatus(status, HomePage { chrome })
}

pub async fn not_found(req: HttpRequest) -> Result<HttpResponse, ConsoleError> {
    Err(ConsoleError::api(Lang::of(&req), ApiError::NotFound))
}
