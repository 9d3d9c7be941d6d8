//! The institution's contacts: for the warm handover, who an mbo intaker
//! calls about a student's dossier; for students and parents, how they
//! reach its privacy officer (shown on their own page). Shown to, and set by, whom the policy
//! lets manage the institution's registry entry (its admin); the same use
//! cases as `GET`/`PUT /v1/institutions/{brin}/contact`.

use doorstroom_api::institutions::{ContactView, HandoverContactBody, SetContact};

use super::*;

#[derive(Template, WebTemplate)]
#[template(path = "console/contact.html")]
struct ContactPage {
    chrome: Chrome,
    institution: String,
    form: ContactForm,
    /// Since when the stored contact is as shown.
    updated: String,
    error: Option<String>,
    done: Option<&'static str>,
}

/// The form as typed (kept when it is refused). All fields empty removes
/// the contact.
#[derive(Deserialize, Default)]
pub struct ContactForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    privacy: String,
}

impl ContactForm {
    fn of(view: &ContactView) -> ContactForm {
        let privacy = view.privacy.clone().unwrap_or_default();
        let Some(c) = &view.handover else {
            return ContactForm {
                privacy,
                ..ContactForm::default()
            };
        };
        ContactForm {
            csrf: String::new(),
            name: c.name.clone(),
            role: c.role.clone().unwrap_or_default(),
            email: c.email.clone().unwrap_or_default(),
            phone: c.phone.clone().unwrap_or_default(),
            privacy,
        }
    }

    fn request(&self) -> SetContact {
        let given = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
        let blank = [&self.name, &self.role, &self.email, &self.phone]
            .iter()
            .all(|f| f.trim().is_empty());
        SetContact {
            handover: (!blank).then(|| HandoverContactBody {
                name: self.name.trim().to_owned(),
                role: given(&self.role),
                email: given(&self.email),
                phone: given(&self.phone),
            }),
            privacy: given(&self.privacy),
        }
    }
}

/// Only an institution's own staff have a contact page; anyone else the
/// same 404 as a missing page.
fn own_institution(user: &ConsoleUser) -> Result<Brin, ConsoleError> {
    user.account
        .institution
        .clone()
        .ok_or_else(|| user.fail(ApiError::NotFound))
}

/// The page is for who may set the contact: reading it alone is the
/// API's (`read_institution`, open to the whole exchange).
fn may_manage(user: &ConsoleUser, brin: &Brin) -> Result<(), ConsoleError> {
    if authorize(
        &user.caller.principal,
        Action::ManageCertificates,
        &Resource::Institution(brin.clone()),
    )
    .is_allowed()
    {
        Ok(())
    } else {
        Err(user.fail(ApiError::NotFound))
    }
}

fn page(user: &ConsoleUser, brin: &Brin, view: &ContactView, form: ContactForm) -> ContactPage {
    ContactPage {
        chrome: Chrome::of(user, "/console/contact"),
        institution: brin.to_string(),
        form,
        updated: when_opt(&view.updated_at),
        error: None,
        done: None,
    }
}

pub async fn contact_page(state: web::Data<AppState>, user: ConsoleUser) -> Result<impl Responder, ConsoleError> {
    let brin = own_institution(&user)?;
    may_manage(&user, &brin)?;
    let for_use_case = brin.clone();
    let view = crate::access::run(&state, &user.caller, move |app, caller| {
        registry::read_contact(&app.store, app.clock.now(), caller, for_use_case)
    })
    .await
    .map_err(|e| user.fail(e))?;
    let form = ContactForm::of(&view);
    Ok(page(&user, &brin, &view, form))
}

/// Saves the contact (`POST /console/contact`); a refused field is shown
/// on the form with what was typed.
pub async fn contact_save(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: ConsoleUser,
    body: crate::extract::FormBody,
) -> Result<impl Responder, ConsoleError> {
    let form: ContactForm = parse_form(user.lang, &body)?;
    user.check_csrf(&req, &form.csrf)?;
    let brin = own_institution(&user)?;
    let request = form.request();
    let for_use_case = brin.clone();
    let saved = crate::access::run(&state, &user.caller, move |app, caller| {
        registry::set_contact(&app.store, app.clock.now(), caller, for_use_case, request)
    })
    .await;
    let t = user.lang.messages();
    match saved {
        Ok(view) => {
            let mut shown = page(&user, &brin, &view, ContactForm::of(&view));
            shown.done = Some(if view.handover.is_some() || view.privacy.is_some() {
                t.contact_saved
            } else {
                t.contact_removed
            });
            Ok(WithStatus(StatusCode::OK, shown))
        }
        Err(ApiError::Invalid { detail, .. }) => {
            let mut shown = page(
                &user,
                &brin,
                &ContactView {
                    handover: None,
                    privacy: None,
                    updated_at: None,
                },
                form,
            );
            shown.error = Some(detail);
            Ok(WithStatus(StatusCode::UNPROCESSABLE_ENTITY, shown))
        }
        Err(other) => Err(user.fail(other)),
    }
}
