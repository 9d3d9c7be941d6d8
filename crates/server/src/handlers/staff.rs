//! Staff accounts, login and "who am I".

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use chrono::Duration;
use doorstroom_domain::{
    Action, Actor, ActorKind, AuditEvent, Brin, InstitutionStatus, Outcome, Password, Principal, Purpose, Resource,
    ResourceRef, Role, Sector, StaffId, StaffStatus, Username,
};
use doorstroom_store::staff::StaffAccount;
use doorstroom_store::{DbConn, audit, console_sessions, institutions, login_failures, staff};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::access::{Access, Located, perform};
use crate::auth::Caller;
use crate::credentials::{hash_password, new_totp, verify_totp};
use crate::error::{ApiError, Problem};
use crate::extract::{Json, Query, path_param, query_param};
use crate::request_id::RequestId;
use crate::state::AppState;
use chrono::{DateTime, Utc};
use doorstroom_domain::{ResourceKind, SideEvent};

/// Logging in.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
    /// The current 6-digit code of the account's authenticator app.
    pub totp: String,
}

/// A short-lived access token.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct LoginResponse {
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until the token expires (at most 900).
    pub expires_in: i64,
    pub expires_at: DateTime<Utc>,
}

const ACCOUNT_BUCKET: &str = "account";
const ADDRESS_BUCKET: &str = "address";

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
    let body = body.0;
    let attempt = LoginAttempt::new(&state, &req, body.username, body.password, body.totp);
    let st = state.clone();
    let response = check_login(&state, attempt, move |_, account, now| {
        let (token, expires_at) = st
            .tokens
            .issue(account.id, account.role, account.institution.as_ref(), true, now)
            .map_err(|e| ApiError::Internal(e.to_string()))?;
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

/// One login attempt: what was typed, and the keyed rate-limit buckets of
/// the account and the client address.
pub struct LoginAttempt {
    username: String,
    password: String,
    totp: String,
    account_bucket: String,
    address_bucket: String,
    request_id: String,
}

impl LoginAttempt {
    pub fn new(state: &AppState, req: &HttpRequest, username: String, password: String, totp: String) -> Self {
        let address = req.peer_addr().map(|a| a.ip().to_string()).unwrap_or_default();
        Self {
            account_bucket: state
                .secrets
                .bucket_key("login-account", &username.trim().to_ascii_lowercase()),
            address_bucket: state.secrets.bucket_key("login-address", &address),
            request_id: RequestId::of(req),
            username,
            password,
            totp,
        }
    }
}

/// How long a login refused for want of a free password-check slot is told
/// to wait (`Retry-After`, seconds): one check takes well under a second.
const PASSWORD_CHECK_RETRY_AFTER_SECS: u64 = 1;

/// The one login check, for the API's tokens and the web console's
/// sessions: rate limits, password, account status and TOTP code, every
/// attempt audited. On success `issue` runs in the transaction that writes
/// the `login` event (the console stores its session there), so a login
/// without its record does not happen.
///
/// The steps, and why in this order:
/// 1. One write transaction counts the failures of the account and the
///    address and, below the limits, records this attempt as a failure
///    before anything is checked (under a per-bucket lock on PostgreSQL;
///    SQLite has one writer). Concurrent attempts, also on other broker
///    nodes, therefore each see the ones before them: no more than the
///    limit ever reach the password check. Above a limit: 429, audited.
/// 2. A free password-check slot, or 503 with `Retry-After` at once (the
///    recorded failure is taken back, the refusal audited): the hashing
///    memory stays bounded whatever arrives.
/// 3. The password check, on the pool's own threads.
/// 4. One write transaction marks the TOTP step as used (a replayed code
///    fails like a wrong one), issues, takes the recorded failure back and
///    writes the `login` event; or, on any failure, writes the failure's
///    event (the failure itself is already counted).
pub async fn check_login<T, F>(state: &web::Data<AppState>, attempt: LoginAttempt, issue: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&mut DbConn, &StaffAccount, DateTime<Utc>) -> Result<T, ApiError> + Send + 'static,
{
    let LoginAttempt {
        username: raw_username,
        password,
        totp,
        account_bucket,
        address_bucket,
        request_id,
    } = attempt;
    let username = Username::parse(&raw_username).ok();
    let now = state.clock.now();
    let window_start = now - Duration::seconds(state.settings.auth.login_failure_window_secs);
    let buckets = Buckets {
        account: account_bucket,
        address: address_bucket,
        at: now,
    };
    let mut event = AuditEvent {
        time: now,
        actor: Actor::anonymous(),
        on_behalf_of: None,
        action: SideEvent::Login.into(),
        resource: ResourceRef::new(ResourceKind::StaffAccount, None),
        data_subject: None,
        purpose: Purpose::Authentication,
        outcome: Outcome::Success,
        reason: None,
        request_id: Some(request_id),
    };

    // 1. Count and record, in one transaction.
    let st = state.clone();
    let (rate_limited, b) = (event.clone(), buckets.clone());
    let admitted = crate::request_id::block(move || {
        let auth = &st.settings.auth;
        st.store.write(|conn| {
            login_failures::lock_bucket(conn, ACCOUNT_BUCKET, &b.account)?;
            login_failures::lock_bucket(conn, ADDRESS_BUCKET, &b.address)?;
            let account_failures = login_failures::count_since(conn, ACCOUNT_BUCKET, &b.account, window_start)?;
            let address_failures = login_failures::count_since(conn, ADDRESS_BUCKET, &b.address, window_start)?;
            if account_failures >= auth.max_failures_per_account || address_failures >= auth.max_failures_per_address {
                audit::append(
                    conn,
                    &rate_limited.with_outcome(Outcome::Unauthenticated, "rate_limited"),
                )
                .map_err(ApiError::audit_failed)?;
                return Ok::<_, ApiError>(None);
            }
            login_failures::record(conn, ACCOUNT_BUCKET, &b.account, b.at)?;
            login_failures::record(conn, ADDRESS_BUCKET, &b.address, b.at)?;
            let account = match &username {
                Some(u) => staff::by_username(conn, u)?,
                None => None,
            };
            Ok(Some(account))
        })
    })
    .await??;
    let Some(account) = admitted else {
        return Err(ApiError::TooManyAttempts {
            retry_after_secs: state.settings.auth.login_failure_window_secs,
        });
    };
    if let Some(a) = &account {
        event.actor = Actor {
            kind: ActorKind::Staff,
            institution: a.institution.clone(),
            id: Some(a.id.to_string()),
        };
        event.resource = ResourceRef::new(ResourceKind::StaffAccount, Some(a.id.to_string()));
    }

    // 2. A slot for the password check, or a quick refusal.
    let Some(slot) = state.password_checks.try_reserve() else {
        let st = state.clone();
        let (busy, b) = (event.clone(), buckets.clone());
        crate::request_id::block(move || {
            st.store.write(|conn| {
                b.forget(conn)?;
                audit::append(
                    conn,
                    &busy.with_outcome(Outcome::Unauthenticated, "password_checks_busy"),
                )
                .map_err(ApiError::audit_failed)?;
                Ok::<_, ApiError>(())
            })
        })
        .await??;
        return Err(ApiError::Overloaded {
            retry_after_secs: PASSWORD_CHECK_RETRY_AFTER_SECS,
        });
    };

    // 3. The password (an unknown user's too, so that both take as long).
    let stored_hash = account.as_ref().map(|a| a.password_hash.clone());
    let password_ok = state.password_checks.verify(slot, stored_hash, password).await?;

    // 4. Second factor and outcome, in one transaction.
    let st = state.clone();
    crate::request_id::block(move || {
        let verdict = match &account {
            None => Err("bad_credentials"),
            Some(_) if !password_ok => Err("bad_credentials"),
            Some(a) if a.status != StaffStatus::Active => Err("account_deactivated"),
            Some(a) => match &a.totp_secret {
                None => Err("second_factor_not_enrolled"),
                Some(sealed) => match st.secrets.totp_key().open(a.id, sealed) {
                    Err(_) => {
                        tracing::error!("a stored TOTP secret cannot be opened (wrong key or damaged row)");
                        Err("second_factor_unreadable")
                    }
                    Ok(secret) => match verify_totp(&secret, a.username.as_str(), &totp, now) {
                        None => Err("bad_second_factor"),
                        Some(step) => Ok((a, step)),
                    },
                },
            },
        };
        let issued = match verdict {
            Ok((account, step)) => st.store.write(|conn| {
                // A code's step is taken once; a replay fails like a wrong
                // code (its event says which).
                if !staff::use_totp_step(conn, account.id, step)? {
                    audit::append(
                        conn,
                        &event.with_outcome(Outcome::Unauthenticated, "second_factor_replayed"),
                    )
                    .map_err(ApiError::audit_failed)?;
                    return Ok::<_, ApiError>(None);
                }
                let issued = issue(conn, account, now)?;
                login_failures::clear(conn, ACCOUNT_BUCKET, &buckets.account)?;
                login_failures::forget_one(conn, ADDRESS_BUCKET, &buckets.address, buckets.at)?;
                // Failures older than the window count for nothing; drop them.
                login_failures::prune_before(conn, window_start)?;
                audit::append(conn, &event).map_err(ApiError::audit_failed)?;
                Ok(Some(issued))
            })?,
            Err(reason) => st.store.write(|conn| {
                audit::append(conn, &event.with_outcome(Outcome::Unauthenticated, reason))
                    .map_err(ApiError::audit_failed)?;
                Ok::<_, ApiError>(None)
            })?,
        };
        issued.ok_or(ApiError::Unauthenticated("invalid username, password or second factor"))
    })
    .await?
}

/// The rate-limit buckets of one attempt and the instant its failure was
/// recorded under.
#[derive(Clone)]
struct Buckets {
    account: String,
    address: String,
    at: DateTime<Utc>,
}

impl Buckets {
    /// Takes back the failure recorded for this attempt.
    fn forget(&self, conn: &mut DbConn) -> Result<(), ApiError> {
        login_failures::forget_one(conn, ACCOUNT_BUCKET, &self.account, self.at)?;
        login_failures::forget_one(conn, ADDRESS_BUCKET, &self.address, self.at)?;
        Ok(())
    }
}

/// The authenticated caller.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct WhoAmI {
    /// `system` (client certificate) or `staff` (access token).
    pub kind: String,
    pub institution: Option<String>,
    pub sector: Option<Sector>,
    pub role: Option<Role>,
    pub staff_id: Option<StaffId>,
    /// SPKI SHA-256 of the client certificate, for systems.
    pub fingerprint: Option<String>,
}

#[utoipa::path(
    tag = "auth",
    responses((status = 200, body = WhoAmI), (status = 401, body = Problem, content_type = "application/problem+json")),
    security(("client_certificate" = []), ("bearer" = []))
)]
#[get("/v1/whoami")]
pub async fn whoami(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, ApiError> {
    let access = Access::new(
        Action::WhoAmI,
        Resource::Broker,
        ResourceRef::new(ResourceKind::Principal, None),
        Purpose::Authentication,
    );
    let principal = caller.principal.clone();
    let view = perform(&state, &caller, access, move |_, _| {
        Ok(match principal {
            Principal::System {
                institution,
                sector,
                fingerprint,
            } => WhoAmI {
                kind: "system".into(),
                institution: Some(institution.to_string()),
                sector: Some(sector),
                role: None,
                staff_id: None,
                fingerprint: Some(fingerprint.to_string()),
            },
            Principal::Staff {
                id, role, institution, ..
            } => WhoAmI {
                kind: "staff".into(),
                institution: institution.map(|b| b.to_string()),
                sector: None,
                role: Some(role),
                staff_id: Some(id),
                fingerprint: None,
            },
            Principal::Operator | Principal::Anonymous => return Err(ApiError::Forbidden),
        })
    })
    .await?;
    Ok(HttpResponse::Ok().json(view))
}

/// A staff account (never its password hash or TOTP secret).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct StaffView {
    pub id: StaffId,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub institution: Option<String>,
    pub status: StaffStatus,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<StaffAccount> for StaffView {
    fn from(a: StaffAccount) -> Self {
        Self {
            id: a.id,
            username: a.username.as_str().to_owned(),
            display_name: a.display_name,
            role: a.role,
            institution: a.institution.map(|b| b.to_string()),
            status: a.status,
            created_at: a.created_at,
            updated_at: a.updated_at,
        }
    }
}

/// Creating a staff account. Every account gets a TOTP second factor; its
/// provisioning URI is returned once, in the response.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateStaff {
    #[schema(value_type = String, example = "j.devries")]
    pub username: Username,
    /// 1 to 200 characters, no control characters.
    #[schema(
        max_length = 200,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"
    )]
    pub display_name: String,
    pub role: Role,
    /// Required for institution admins and intakers; absent for broker admins
    /// and the broker's own privacy officer.
    #[schema(value_type = Option<String>, pattern = "^[0-9]{2}[A-Z]{2}$", example = "25LX")]
    #[serde(default)]
    pub institution: Option<Brin>,
    /// The initial password, 12 to 256 characters.
    #[schema(value_type = String, min_length = 12, max_length = 256)]
    pub password: Password,
}

/// A new account or second factor, with the one-time TOTP enrolment.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Enrolment {
    pub account: StaffView,
    /// `otpauth://` URI for the authenticator app; shown only now.
    pub totp_uri: String,
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
    let enrolment = create_account(&state, &caller, body.0).await?;
    Ok(HttpResponse::Created().json(enrolment))
}

/// Creates a staff account (the API and the web console): checks, hashes the
/// password, enrols a TOTP second factor, audited as `create_staff`.
pub async fn create_account(
    state: &web::Data<AppState>,
    caller: &Caller,
    body: CreateStaff,
) -> Result<Enrolment, ApiError> {
    if !body.role.fits_institution(body.institution.as_ref()) {
        return Err(ApiError::invalid(
            "/institution",
            "institution: broker admins have none; institution admins and intakers need one",
        ));
    }
    let display_name = doorstroom_domain::short_text("display_name", &body.display_name)
        .map_err(|e| ApiError::field("/display_name", e))?;
    let access = Access::new(
        Action::CreateStaff,
        Resource::StaffAccount {
            institution: body.institution.clone(),
            role: body.role,
        },
        ResourceRef::new(ResourceKind::StaffAccount, None),
        Purpose::Administration,
    );
    // Hashing is slow; do it before the transaction opens.
    let password = body.password;
    let password_hash = crate::request_id::block(move || hash_password(&password)).await??;
    let (secret, totp_uri) = new_totp(body.username.as_str())?;
    let totp_sealer = state.clone();
    perform(state, caller, access, move |conn, now| {
        if let Some(brin) = &body.institution {
            match institutions::get(conn, brin)? {
                Some(i) if i.status == InstitutionStatus::Active => {}
                _ => {
                    return Err(ApiError::invalid(
                        "/institution",
                        "institution: not a registered active institution",
                    ));
                }
            }
        }
        let id = StaffId(uuid::Uuid::new_v4());
        let sealed = totp_sealer
            .secrets
            .totp_key()
            .seal(id, &secret)
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        let account = StaffAccount {
            id,
            username: body.username,
            display_name,
            role: body.role,
            institution: body.institution,
            password_hash,
            totp_secret: Some(sealed),
            status: StaffStatus::Active,
            created_at: now,
            updated_at: now,
        };
        staff::insert(conn, &account)?;
        Ok(Enrolment {
            account: StaffView::from(account),
            totp_uri,
        })
    })
    .await
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct StaffQuery {
    /// BRIN of the institution; absent lists every account (broker staff only).
    #[param(pattern = "^[0-9]{2}[A-Z]{2}$")]
    pub institution: Option<String>,
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
    let views = list_accounts(&state, &caller, institution).await?;
    Ok(HttpResponse::Ok().json(views))
}

/// The staff accounts of one institution, or of all (broker staff only);
/// audited as `list_staff`.
pub async fn list_accounts(
    state: &web::Data<AppState>,
    caller: &Caller,
    institution: Option<Brin>,
) -> Result<Vec<StaffView>, ApiError> {
    let resource = institution
        .clone()
        .map(Resource::Institution)
        .unwrap_or(Resource::Broker);
    let access = Access::new(
        Action::ListStaff,
        resource,
        ResourceRef::new(ResourceKind::StaffAccounts, institution.as_ref().map(|b| b.to_string())),
        Purpose::Administration,
    );
    perform(state, caller, access, move |conn, _| {
        Ok(staff::list(conn, institution.as_ref())?
            .into_iter()
            .map(StaffView::from)
            .collect::<Vec<_>>())
    })
    .await
}

/// Access to one existing account, whose institution and role decide who may
/// manage it.
pub fn manage_access(id: StaffId) -> Access {
    Access::lookup(
        Action::ManageStaff,
        move |conn| {
            Ok(staff::get(conn, id)?.map(|a| {
                Located::from(Resource::StaffAccount {
                    institution: a.institution,
                    role: a.role,
                })
            }))
        },
        ResourceRef::new(ResourceKind::StaffAccount, Some(id.to_string())),
        Purpose::Administration,
    )
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
    let view = deactivate_account(&state, &caller, id).await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Deactivates an account (the API and the web console): its tokens stop
/// working at once and its console sessions are ended.
pub async fn deactivate_account(
    state: &web::Data<AppState>,
    caller: &Caller,
    id: StaffId,
) -> Result<StaffView, ApiError> {
    perform(state, caller, manage_access(id), move |conn, now| {
        let view = staff::set_status(conn, id, StaffStatus::Deactivated, now)?
            .map(StaffView::from)
            .ok_or(ApiError::NotFound)?;
        console_sessions::delete_for_staff(conn, id)?;
        Ok(view)
    })
    .await
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
    let enrolment = reset_account_second_factor(&state, &caller, id).await?;
    Ok(HttpResponse::Ok().json(enrolment))
}

/// Enrols a new second factor for an account (the API and the web
/// console); the account's console sessions are ended, since whoever held
/// the old factor may be the one logged in.
pub async fn reset_account_second_factor(
    state: &web::Data<AppState>,
    caller: &Caller,
    id: StaffId,
) -> Result<Enrolment, ApiError> {
    let totp_sealer = state.clone();
    perform(state, caller, manage_access(id), move |conn, now| {
        let Some(account) = staff::get(conn, id)? else {
            return Err(ApiError::NotFound);
        };
        let (secret, totp_uri) = new_totp(account.username.as_str())?;
        let sealed = totp_sealer
            .secrets
            .totp_key()
            .seal(id, &secret)
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        let account = staff::set_totp_secret(conn, id, Some(&sealed), now)?.ok_or(ApiError::NotFound)?;
        console_sessions::delete_for_staff(conn, id)?;
        Ok(Enrolment {
            account: StaffView::from(account),
            totp_uri,
        })
    })
    .await
}
