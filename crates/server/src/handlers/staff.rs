//! Staff accounts, login and "who am I". Doors to `doorstroom_app::staff`
//! and `doorstroom_app::login`.

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use chrono::{DateTime, Utc};
use doorstroom_api::staff::{CreateStaff, Enrolment, LoginRequest, LoginResponse, StaffQuery, StaffView, WhoAmI};
use doorstroom_app::login::{LoginAttempt, admit_login, finish_login, refuse_busy_login};
use doorstroom_app::{AppError, staff};
use doorstroom_domain::{Brin, StaffId};
use doorstroom_store::DbConn;
use doorstroom_store::staff::StaffAccount;

use crate::access::run;
use crate::auth::Caller;
use crate::error::{ApiError, Problem};
use crate::extract::{Json, Query, path_param, query_param};
use crate::request_id::{RequestId, block};
use crate::state::AppState;

/// Logs a staff member in with password and TOTP code. Failed attempts are
/// counted per account and per client address; past the configured limits
/// the answer is 429 until the window has passed. A TOTP code is accepted
/// once: using it again fails like a wrong code. When all password-check
/// slots (`auth.max_concurrent_password_checks`) are busy the answer is
/// 503 at once. Every attempt is audited.
#[utoipa::path(
    tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, body = LoginResponse),
        (status = 401, description = "wrong username, password or code (the answer does not say which)", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "too many failed attempts for the account or the client address; see `Retry-After`", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "every password-check slot is busy (`overloaded`, refused at once; see `Retry-After`), or the database is unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/auth/login")]
pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: Json<LoginRequest>,
) -> Result<HttpResponse, ApiError> {
    let LoginRequest {
        username,
        password,
        totp,
    } = body.0;
    let attempt = login_attempt(&state, &req, username, password, totp);
    let st = state.clone();
    let response = check_login(&state, attempt, move |_, account, now| {
        let (token, expires_at) = st
            .tokens
            .issue(account.id, account.role, account.institution.as_ref(), true, now)
            .map_err(|e| AppError::Internal(e.to_string()))?;
        Ok(LoginResponse {
            access_token: token,
            token_type: "Bearer".into(),
            expires_in: (expires_at - now).num_seconds(),
            expires_at,
        })
    })
    .await?;
    Ok(HttpResponse::Ok().json(response))
}

/// What was typed in a login request, with its client address and request
/// id (the API's and the web console's).
pub fn login_attempt(
    state: &AppState,
    req: &HttpRequest,
    username: String,
    password: String,
    totp: String,
) -> LoginAttempt {
    let address = req.peer_addr().map(|a| a.ip().to_string()).unwrap_or_default();
    LoginAttempt::new(&state.secrets, username, password, totp, &address, RequestId::of(req))
}

/// How long a login refused for want of a free password-check slot is told
/// to wait (`Retry-After`, seconds): one check takes well under a second.
const PASSWORD_CHECK_RETRY_AFTER_SECS: u64 = 1;

/// The one login check (see `doorstroom_app::login` for the steps and why
/// in this order), with the password checked in this server's bounded pool
/// between admission and outcome: a free slot, or 503 at once.
pub async fn check_login<T, F>(state: &web::Data<AppState>, attempt: LoginAttempt, issue: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&mut DbConn, &StaffAccount, DateTime<Utc>) -> Result<T, AppError> + Send + 'static,
{
    let st = state.clone();
    let mut admitted = block(move || {
        let limits = st.settings.auth.login_limits();
        admit_login(&st.store, st.clock.now(), &limits, attempt)
    })
    .await??;
    let Some(slot) = state.password_checks.try_reserve() else {
        let st = state.clone();
        block(move || refuse_busy_login(&st.store, admitted)).await??;
        return Err(ApiError::Overloaded {
            retry_after_secs: PASSWORD_CHECK_RETRY_AFTER_SECS,
        });
    };
    let (stored_hash, password) = admitted.password_check();
    let password_ok = state.password_checks.verify(slot, stored_hash, password).await?;
    let st = state.clone();
    Ok(block(move || finish_login(&st.store, st.secrets.totp_key(), admitted, password_ok, issue)).await??)
}

#[utoipa::path(
    tag = "auth",
    responses((status = 200, body = WhoAmI), (status = 401, body = Problem, content_type = "application/problem+json")),
    security(("client_certificate" = []), ("bearer" = []))
)]
#[get("/v1/whoami")]
pub async fn whoami(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, ApiError> {
    let view = run(&state, &caller, |app, caller| {
        staff::whoami(&app.store, app.clock.now(), caller)
    })
    .await?;
    Ok(HttpResponse::Ok().json(view))
}

#[utoipa::path(
    tag = "staff",
    request_body = CreateStaff,
    responses(
        (status = 201, body = Enrolment),
        (status = 409, description = "username taken", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("client_certificate" = []), ("bearer" = []))
)]
#[post("/v1/staff")]
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    body: Json<CreateStaff>,
) -> Result<HttpResponse, ApiError> {
    let enrolled = run(&state, &caller, move |app, caller| {
        staff::create_staff(&app.store, app.clock.now(), caller, app.secrets.totp_key(), body.0)
    })
    .await?;
    Ok(HttpResponse::Created().json(enrolled.enrolment))
}

#[utoipa::path(
    tag = "staff",
    params(StaffQuery),
    responses((status = 200, body = Vec<StaffView>)),
    security(("client_certificate" = []), ("bearer" = []))
)]
#[get("/v1/staff")]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    query: Query<StaffQuery>,
) -> Result<HttpResponse, ApiError> {
    let institution = query
        .0
        .institution
        .map(|raw| query_param("institution", &raw, Brin::parse))
        .transpose()?;
    let views = run(&state, &caller, move |app, caller| {
        staff::list_staff(&app.store, app.clock.now(), caller, institution)
    })
    .await?;
    Ok(HttpResponse::Ok().json(views))
}

fn staff_id(raw: &str) -> Result<StaffId, ApiError> {
    path_param("id", raw, str::parse::<StaffId>)
}

/// Deactivates an account: its tokens stop working at once.
#[utoipa::path(
    tag = "staff",
    params(("id" = String, Path)),
    responses((status = 200, body = StaffView), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("client_certificate" = []), ("bearer" = []))
)]
#[post("/v1/staff/{id}/deactivate")]
pub async fn deactivate(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = staff_id(&path)?;
    let view = run(&state, &caller, move |app, caller| {
        staff::deactivate_staff(&app.store, app.clock.now(), caller, id)
    })
    .await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Replaces an account's second factor (a lost phone); the new provisioning
/// URI is returned once.
#[utoipa::path(
    tag = "staff",
    params(("id" = String, Path)),
    responses((status = 200, body = Enrolment), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("client_certificate" = []), ("bearer" = []))
)]
#[post("/v1/staff/{id}/second-factor")]
pub async fn reset_second_factor(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = staff_id(&path)?;
    let enrolled = run(&state, &caller, move |app, caller| {
        staff::reset_second_factor(&app.store, app.clock.now(), caller, app.secrets.totp_key(), id)
    })
    .await?;
    Ok(HttpResponse::Ok().json(enrolled.enrolment))
}
