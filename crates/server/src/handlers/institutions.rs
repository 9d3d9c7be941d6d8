//! The institution registry: institutions, their published JOSE keys and the
//! client certificates bound to them. Doors to `doorstroom_app::registry`.

use actix_web::{HttpResponse, get, patch, post, web};
use doorstroom_api::institutions::{
    AddKey, BindCertificate, CertificateView, InstitutionView, KeyView, RegisterInstitution, UpdateInstitution,
};
use doorstroom_app::registry;
use doorstroom_domain::{Brin, CertFingerprint};

use crate::access::run;
use crate::auth::Caller;
use crate::error::{ApiError, Problem};
use crate::extract::{Json, path_param};
use crate::state::AppState;

#[utoipa::path(
    tag = "registry",
    request_body = RegisterInstitution,
    responses(
        (status = 201, body = InstitutionView),
        (status = 409, description = "BRIN or OIN already registered", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ),
    security(("client_certificate" = []), ("bearer" = []))
)]
#[post("/v1/institutions")]
pub async fn register(
    state: web::Data<AppState>,
    caller: Caller,
    body: Json<RegisterInstitution>,
) -> Result<HttpResponse, ApiError> {
    let view = run(&state, &caller, move |app, caller| {
        registry::register_institution(&app.store, app.clock.now(), caller, body.0)
    })
    .await?;
    Ok(HttpResponse::Created().json(view))
}

#[utoipa::path(tag = "registry", responses((status = 200, body = Vec<InstitutionView>)), security(("client_certificate" = []), ("bearer" = [])))]
#[get("/v1/institutions")]
pub async fn list(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, ApiError> {
    let views = run(&state, &caller, |app, caller| {
        registry::list_institutions(&app.store, app.clock.now(), caller)
    })
    .await?;
    Ok(HttpResponse::Ok().json(views))
}

fn brin_param(raw: &str) -> Result<Brin, ApiError> {
    path_param("brin", raw, Brin::parse)
}

/// The BRIN and the second path segment (a `kid`, a fingerprint).
fn brin_and(path: web::Path<(String, String)>) -> Result<(Brin, String), ApiError> {
    let (brin, other) = path.into_inner();
    Ok((brin_param(&brin)?, other))
}

#[utoipa::path(
    tag = "registry",
    params(("brin" = String, Path, description = "BRIN of the institution")),
    responses((status = 200, body = InstitutionView), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("client_certificate" = []), ("bearer" = []))
)]
#[get("/v1/institutions/{brin}")]
pub async fn get_one(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let brin = brin_param(&path)?;
    let view = run(&state, &caller, move |app, caller| {
        registry::read_institution(&app.store, app.clock.now(), caller, brin)
    })
    .await?;
    Ok(HttpResponse::Ok().json(view))
}

#[utoipa::path(
    tag = "registry",
    params(("brin" = String, Path)),
    request_body = UpdateInstitution,
    responses((status = 200, body = InstitutionView), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("client_certificate" = []), ("bearer" = []))
)]
#[patch("/v1/institutions/{brin}")]
pub async fn update(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    body: Json<UpdateInstitution>,
) -> Result<HttpResponse, ApiError> {
    let brin = brin_param(&path)?;
    let view = run(&state, &caller, move |app, caller| {
        registry::update_institution(&app.store, app.clock.now(), caller, brin, body.0)
    })
    .await?;
    Ok(HttpResponse::Ok().json(view))
}

/// The institution's published keys as an RFC 7517 JWK Set: active and
/// retired keys (retired ones still verify older signatures), never revoked
/// ones. Each JWK carries its `x5c` chain and an extra member `status`.
/// Public and unauthenticated: clients check each key's chain against their
/// own trust anchors instead of trusting the broker.
#[utoipa::path(
    tag = "registry",
    params(("brin" = String, Path)),
    responses(
        (status = 200, description = "JWK Set", content_type = "application/jwk-set+json", body = Object),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/institutions/{brin}/jwks")]
pub async fn jwks(state: web::Data<AppState>, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let brin = brin_param(&path)?;
    let state = state.clone();
    let set = crate::request_id::block(move || registry::published_jwks(&state.store, brin)).await??;
    Ok(HttpResponse::Ok().content_type("application/jwk-set+json").json(set))
}

#[utoipa::path(
    tag = "registry",
    params(("brin" = String, Path)),
    responses((status = 200, body = Vec<KeyView>), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("client_certificate" = []), ("bearer" = []))
)]
#[get("/v1/institutions/{brin}/keys")]
pub async fn list_keys(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let brin = brin_param(&path)?;
    let views = run(&state, &caller, move |app, caller| {
        registry::list_keys(&app.store, app.clock.now(), caller, brin)
    })
    .await?;
    Ok(HttpResponse::Ok().json(views))
}

#[utoipa::path(
    tag = "registry",
    params(("brin" = String, Path)),
    request_body = AddKey,
    responses(
        (status = 201, body = KeyView),
        (status = 409, description = "kid already in use", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "JWK or x5c chain rejected", body = Problem, content_type = "application/problem+json"),
    ),
    security(("client_certificate" = []), ("bearer" = []))
)]
#[post("/v1/institutions/{brin}/keys")]
pub async fn add_key(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    body: Json<AddKey>,
) -> Result<HttpResponse, ApiError> {
    let brin = brin_param(&path)?;
    let view = run(&state, &caller, move |app, caller| {
        registry::add_key(
            &app.store,
            app.clock.now(),
            caller,
            &app.trust_anchors,
            brin,
            body.0.jwk,
        )
    })
    .await?;
    Ok(HttpResponse::Created().json(view))
}

/// Retires a key: it is no longer used for new packages but still verifies
/// or decrypts what was made with it.
#[utoipa::path(
    tag = "registry",
    params(("brin" = String, Path), ("kid" = String, Path)),
    responses((status = 200, body = KeyView), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("client_certificate" = []), ("bearer" = []))
)]
#[post("/v1/institutions/{brin}/keys/{kid}/retire")]
pub async fn retire_key(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (brin, kid) = brin_and(path)?;
    let view = run(&state, &caller, move |app, caller| {
        registry::retire_key(&app.store, &app.keys, app.clock.now(), caller, brin, kid)
    })
    .await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Revokes a key: it is never trusted again and disappears from the JWKS.
#[utoipa::path(
    tag = "registry",
    params(("brin" = String, Path), ("kid" = String, Path)),
    responses((status = 200, body = KeyView), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("client_certificate" = []), ("bearer" = []))
)]
#[post("/v1/institutions/{brin}/keys/{kid}/revoke")]
pub async fn revoke_key(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (brin, kid) = brin_and(path)?;
    let view = run(&state, &caller, move |app, caller| {
        registry::revoke_key(&app.store, &app.keys, app.clock.now(), caller, brin, kid)
    })
    .await?;
    Ok(HttpResponse::Ok().json(view))
}

#[utoipa::path(
    tag = "registry",
    params(("brin" = String, Path)),
    responses((status = 200, body = Vec<CertificateView>), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("client_certificate" = []), ("bearer" = []))
)]
#[get("/v1/institutions/{brin}/certificates")]
pub async fn list_certificates(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let brin = brin_param(&path)?;
    let views = run(&state, &caller, move |app, caller| {
        registry::list_certificates(&app.store, app.clock.now(), caller, brin)
    })
    .await?;
    Ok(HttpResponse::Ok().json(views))
}

#[utoipa::path(
    tag = "registry",
    params(("brin" = String, Path)),
    request_body = BindCertificate,
    responses(
        (status = 201, body = CertificateView),
        (status = 409, description = "already bound", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "not a usable client certificate", body = Problem, content_type = "application/problem+json"),
    ),
    security(("client_certificate" = []), ("bearer" = []))
)]
#[post("/v1/institutions/{brin}/certificates")]
pub async fn bind_certificate(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    body: Json<BindCertificate>,
) -> Result<HttpResponse, ApiError> {
    let brin = brin_param(&path)?;
    let roots = state.clone();
    let view = run(&state, &caller, move |app, caller| {
        let pem = body.0.certificate;
        registry::bind_certificate(&app.store, app.clock.now(), caller, &roots.client_roots, brin, pem)
    })
    .await?;
    Ok(HttpResponse::Created().json(view))
}

/// Revokes a certificate binding: the certificate stops authenticating at
/// once, on every broker node.
#[utoipa::path(
    tag = "registry",
    params(("brin" = String, Path), ("fingerprint" = String, Path)),
    responses((status = 200, body = CertificateView), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("client_certificate" = []), ("bearer" = []))
)]
#[post("/v1/institutions/{brin}/certificates/{fingerprint}/revoke")]
pub async fn revoke_certificate(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (brin, fingerprint) = brin_and(path)?;
    let fingerprint = path_param("fingerprint", &fingerprint, CertFingerprint::parse)?;
    let view = run(&state, &caller, move |app, caller| {
        registry::revoke_certificate(&app.store, app.clock.now(), caller, brin, fingerprint)
    })
    .await?;
    Ok(HttpResponse::Ok().json(view))
}
