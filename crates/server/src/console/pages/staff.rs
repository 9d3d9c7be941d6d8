//! Staff accounts of the admin's institution (broker admins: all):
//! create, reset the second factor, deactivate.

use super::*;
use doorstroom_app::staff::Enrolled;

struct StaffRow {
    id: String,
    username: String,
    name: String,
    role: &'static str,
    institution: String,
    active: bool,
    status: &'static str,
}

/// What a create or reset shows once.
struct Shown {
    username: String,
    password: Option<String>,
    totp_secret: String,
    totp_uri: String,
}

#[derive(Default)]
struct StaffErrors {
    username: Option<&'static str>,
    display_name: Option<&'static str>,
    role: Option<&'static str>,
    institution: Option<&'static str>,
}

#[derive(Deserialize, Default)]
struct StaffForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    institution: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "console/staff.html")]
struct StaffPage {
    chrome: Chrome,
    rows: Vec<StaffRow>,
    /// Broker staff name the institution of a new account.
    broker_scope: bool,
    roles: Vec<(&'static str, &'static str)>,
    form: StaffForm,
    errors: StaffErrors,
    shown: Option<Shown>,
    notice: Option<&'static str>,
}

fn staff_rows(t: &Messages, views: Vec<StaffView>) -> Vec<StaffRow> {
    views
        .into_iter()
        .map(|v| StaffRow {
            id: v.id.to_string(),
            username: v.username,
            name: v.display_name,
            role: role_label(t, v.role),
            institution: v.institution.unwrap_or_else(|| "—".into()),
            active: v.status == StaffStatus::Active,
            status: match v.status {
                StaffStatus::Active => t.status_active,
                StaffStatus::Deactivated => t.status_deactivated,
            },
        })
        .collect()
}

/// The roles this user may create accounts of, as the policy says, and
/// (for an institution's admin, whose accounts are of their own
/// institution) as its sector allows: no care coordinator at an mbo.
fn creatable_roles(user: &ConsoleUser, t: &Messages) -> Vec<(&'static str, &'static str)> {
    let principal = &user.caller.principal;
    [
        Role::Intaker,
        Role::InstitutionAdmin,
        Role::PrivacyOfficer,
        Role::CareCoordinator,
        Role::BrokerAdmin,
    ]
    .into_iter()
    .filter(|role| user.sector.is_none_or(|sector| role.fits_sector(sector)))
    .filter(|role| may_create_staff(principal, *role))
    .map(|role| (role.as_str(), role_label(t, role)))
    .collect()
}

async fn render_staff(
    state: &web::Data<AppState>,
    user: &ConsoleUser,
    status: StatusCode,
    form: StaffForm,
    errors: StaffErrors,
    shown: Option<Shown>,
    notice: Option<&'static str>,
) -> Result<WithStatus<StaffPage>, ConsoleError> {
    let t = user.lang.messages();
    let own = user.account.institution.clone();
    let institution = own.clone();
    let views = crate::access::run(state, &user.caller, move |app, caller| {
        staff_use_cases::list_staff(&app.store, app.clock.now(), caller, institution)
    })
    .await
    .map_err(|e| user.fail(e))?;
    Ok(WithStatus(
        status,
        StaffPage {
            chrome: Chrome::of(user, "/console/staff"),
            rows: staff_rows(t, views),
            broker_scope: own.is_none(),
            roles: creatable_roles(user, t),
            form,
            errors,
            shown,
            notice,
        },
    ))
}

pub async fn staff_page(state: web::Data<AppState>, user: ConsoleUser) -> Result<impl Responder, ConsoleError> {
    render_staff(
        &state,
        &user,
        StatusCode::OK,
        StaffForm::default(),
        StaffErrors::default(),
        None,
        None,
    )
    .await
}

/// 20 random characters: the initial password, shown once.
fn initial_password() -> String {
    use base64::Engine;
    use rand::RngCore;
    let mut bytes = [0u8; 15];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn shown(enrolled: Enrolled, password: Option<String>) -> Shown {
    Shown {
        username: enrolled.enrolment.account.username,
        password,
        totp_secret: enrolled.totp_secret,
        totp_uri: enrolled.enrolment.totp_uri,
    }
}

/// What the create form asks for, checked.
struct NewAccount {
    username: Username,
    display_name: String,
    role: Role,
    institution: Option<Brin>,
}

/// The account the form asks for, or the message of every field that is
/// wrong, so that all show at once.
fn requested_account(user: &ConsoleUser, form: &StaffForm) -> Result<NewAccount, StaffErrors> {
    let t = user.lang.messages();
    let mut errors = StaffErrors::default();
    let username = Username::parse(&form.username)
        .map_err(|_| errors.username = Some(t.username_invalid))
        .ok();
    let display_name = doorstroom_domain::short_text("display_name", &form.display_name)
        .map_err(|_| errors.display_name = Some(t.display_name_invalid))
        .ok();
    let role = Role::parse(&form.role)
        .ok()
        .filter(|r| creatable_roles(user, t).iter().any(|(code, _)| *code == r.as_str()));
    if role.is_none() {
        errors.role = Some(t.role_invalid);
    }
    // Institution staff create accounts of their own institution.
    let institution = match &user.account.institution {
        Some(own) => Some(own.clone()),
        None if form.institution.trim().is_empty() => None,
        None => Brin::parse(form.institution.trim())
            .map_err(|_| errors.institution = Some(t.institution_invalid))
            .ok(),
    };
    match (username, display_name, role) {
        (Some(username), Some(display_name), Some(role)) if errors.institution.is_none() => Ok(NewAccount {
            username,
            display_name,
            role,
            institution,
        }),
        _ => Err(errors),
    }
}

/// The form's answer to a refused create: the status and the field it is
/// about; any other failure is the page's.
fn refusal(t: &Messages, err: ApiError) -> Result<(StatusCode, StaffErrors), ApiError> {
    let mut errors = StaffErrors::default();
    match err {
        ApiError::Conflict(_) => {
            errors.username = Some(t.username_taken);
            Ok((StatusCode::CONFLICT, errors))
        }
        ApiError::Invalid { pointer, .. } => {
            match pointer.as_deref() {
                Some("/institution") => errors.institution = Some(t.institution_invalid),
                Some("/display_name") => errors.display_name = Some(t.display_name_invalid),
                _ => errors.role = Some(t.role_invalid),
            }
            Ok((StatusCode::UNPROCESSABLE_ENTITY, errors))
        }
        other => Err(other),
    }
}

pub async fn staff_create(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: ConsoleUser,
    body: crate::extract::FormBody,
) -> Result<impl Responder, ConsoleError> {
    let form: StaffForm = parse_form(user.lang, &body)?;
    user.check_csrf(&req, &form.csrf)?;
    let account = match requested_account(&user, &form) {
        Ok(account) => account,
        Err(errors) => {
            return render_staff(
                &state,
                &user,
                StatusCode::UNPROCESSABLE_ENTITY,
                form,
                errors,
                None,
                None,
            )
            .await;
        }
    };
    let password = initial_password();
    let Ok(parsed_password) = Password::parse(&password) else {
        return Err(user.fail(ApiError::Internal("generated password rejected".into())));
    };
    let request = CreateStaff {
        username: account.username,
        display_name: account.display_name,
        role: account.role,
        institution: account.institution,
        password: parsed_password,
    };
    let created = crate::access::run(&state, &user.caller, move |app, caller| {
        staff_use_cases::create_staff(&app.store, app.clock.now(), caller, app.secrets.totp_key(), request)
    })
    .await;
    match created {
        Ok(enrolled) => {
            let shown = Some(shown(enrolled, Some(password)));
            let (form, errors) = (StaffForm::default(), StaffErrors::default());
            render_staff(&state, &user, StatusCode::OK, form, errors, shown, None).await
        }
        Err(err) => {
            let (status, errors) = refusal(user.lang.messages(), err).map_err(|e| user.fail(e))?;
            render_staff(&state, &user, status, form, errors, None, None).await
        }
    }
}

fn staff_id(user: &ConsoleUser, raw: &str) -> Result<StaffId, ConsoleError> {
    raw.parse::<StaffId>().map_err(|_| user.fail(ApiError::NotFound))
}

pub async fn staff_reset(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: ConsoleUser,
    path: web::Path<String>,
    body: crate::extract::FormBody,
) -> Result<impl Responder, ConsoleError> {
    let form: CsrfOnly = parse_form(user.lang, &body)?;
    user.check_csrf(&req, &form.csrf)?;
    let id = staff_id(&user, &path)?;
    let enrolled = crate::access::run(&state, &user.caller, move |app, caller| {
        staff_use_cases::reset_second_factor(&app.store, app.clock.now(), caller, app.secrets.totp_key(), id)
    })
    .await
    .map_err(|e| user.fail(e))?;
    render_staff(
        &state,
        &user,
        StatusCode::OK,
        StaffForm::default(),
        StaffErrors::default(),
        Some(shown(enrolled, None)),
        None,
    )
    .await
}

pub async fn staff_deactivate(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: ConsoleUser,
    path: web::Path<String>,
    body: crate::extract::FormBody,
) -> Result<impl Responder, ConsoleError> {
    let form: CsrfOnly = parse_form(user.lang, &body)?;
    user.check_csrf(&req, &form.csrf)?;
    let id = staff_id(&user, &path)?;
    crate::access::run(&state, &user.caller, move |app, caller| {
        staff_use_cases::deactivate_staff(&app.store, app.clock.now(), caller, id)
    })
    .await
    .map_err(|e| user.fail(e))?;
    let t = user.lang.messages();
    render_staff(
        &state,
        &user,
        StatusCode::OK,
        StaffForm::default(),
        StaffErrors::default(),
        None,
        Some(t.deactivated_done),
    )
    .await
}
