//! Logging in (password and TOTP through the API's own check) and out.

use super::*;

#[derive(Template, WebTemplate)]
#[template(path = "console/login.html")]
struct LoginPage {
    chrome: Chrome,
    username: String,
    error: Option<&'static str>,
    notice: Option<&'static str>,
}

#[derive(Deserialize)]
pub struct LoginQuery {
    #[serde(default)]
    expired: Option<String>,
    #[serde(default)]
    bye: Option<String>,
}

pub async fn login_form(req: HttpRequest) -> impl Responder {
    let lang = Lang::of(&req);
    let t = lang.messages();
    let query = web::Query::<LoginQuery>::from_query(req.query_string()).ok();
    let notice = match query {
        Some(q) if q.expired.is_some() => Some(t.login_expired),
        Some(q) if q.bye.is_some() => Some(t.logged_out),
        _ => None,
    };
    LoginPage {
        chrome: Chrome::anonymous(lang),
        username: String::new(),
        error: None,
        notice,
    }
}

#[derive(Deserialize)]
struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    totp: String,
}

/// Password and TOTP through the API's own login check (rate limits and
/// audit included); on success a session row is written in the same
/// transaction as the `login` event.
pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: crate::extract::FormBody,
) -> Result<impl Responder, ConsoleError> {
    let lang = Lang::of(&req);
    let t = lang.messages();
    same_origin(&req, lang)?;
    let form: LoginForm = parse_form(lang, &body)?;
    let username = form.username.clone();
    let attempt = login_attempt(&state, &req, form.username, form.password, form.totp);
    let session_id = session::new_session_id();
    let hash = session::id_hash(&session_id);
    let limits = state.settings.console;
    let outcome = check_login(&state, attempt, move |conn, account, now| {
        // Ended sessions of anyone go with each login, so none linger.
        console_sessions::prune(conn, now - limits.idle_timeout, now - limits.absolute_lifetime)?;
        console_sessions::insert(conn, &hash, account.id, now)?;
        Ok(())
    })
    .await;
    let again = |status, error| {
        Either::Right(WithStatus(
            status,
            LoginPage {
                chrome: Chrome::anonymous(lang),
                username: username.clone(),
                error: Some(error),
                notice: None,
            },
        ))
    };
    match outcome {
        Ok(()) => Ok(Either::Left(
            HttpResponse::SeeOther()
                .cookie(session_cookie(&session_id))
                .insert_header((header::LOCATION, "/console/"))
                .finish(),
        )),
        Err(ApiError::Unauthenticated(_)) => Ok(again(StatusCode::UNAUTHORIZED, t.login_failed)),
        Err(ApiError::TooManyAttempts { .. }) => Ok(again(StatusCode::TOO_MANY_REQUESTS, t.login_rate_limited)),
        Err(err) => Err(ConsoleError::api(lang, err)),
    }
}

pub async fn logout(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: ConsoleUser,
    body: crate::extract::FormBody,
) -> Result<HttpResponse, ConsoleError> {
    let form: CsrfOnly = parse_form(user.lang, &body)?;
    user.check_csrf(&req, &form.csrf)?;
    user.end(&state).await?;
    Ok(HttpResponse::SeeOther()
        .cookie(session::expired_session_cookie())
        .insert_header((header::LOCATION, "/console/login?bye=1"))
        .finish())
}
