//! The institution registry: institutions, their published JOSE keys and the
//! client certificates bound to them.

use actix_web::{HttpResponse, get, patch, post, web};
use doorstroom_domain::{
    Action, Brin, CertFingerprint, InstitutionStatus, KeyStatus, KeyUse, Oin, Purpose, Resource, ResourceRef, Sector,
};
use doorstroom_jose::{Jwks, PublicJwk, TrustAnchors, verify_x5c};
use doorstroom_store::certificates::CertificateBinding;
use doorstroom_store::institutions::Institution;
use doorstroom_store::keys::InstitutionKey;
use doorstroom_store::{certificates, institutions, keys};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::access::{Access, perform};
use crate::auth::Caller;
use crate::error::{ApiError, Problem};
use crate::extract::{Json, path_param};
use crate::state::AppState;
use crate::tls::ClientRoots;
use chrono::{DateTime, Utc};
use doorstroom_domain::ResourceKind;

/// A registered institution.
#[derive(Debug, Serialize, ToSchema)]
pub struct InstitutionView {
    #[schema(example = "25LX")]
    pub brin: String,
    #[schema(example = "00000001000000250000")]
    pub oin: Option<String>,
    pub name: String,
    pub sector: Sector,
    pub status: InstitutionStatus,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Institution> for InstitutionView {
    fn from(i: Institution) -> Self {
        Self {
            brin: i.brin.to_string(),
            oin: i.oin.map(|o| o.to_string()),
            name: i.name,
            sector: i.sector,
            status: i.status,
            created_at: i.created_at,
            updated_at: i.updated_at,
        }
    }
}

/// A name that follows the domain's short-text rule, or 422 at `pointer`.
fn checked_name(pointer: &str, raw: &str) -> Result<String, ApiError> {
    doorstroom_domain::short_text("name", raw).map_err(|e| ApiError::field(pointer, e))
}

/// Registering an institution.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterInstitution {
    #[schema(value_type = String, pattern = "^[0-9]{2}[A-Z]{2}$", example = "25LX")]
    pub brin: Brin,
    #[schema(value_type = Option<String>, pattern = "^[0-9]{20}$")]
    #[serde(default)]
    pub oin: Option<Oin>,
    /// 1 to 200 characters, no control characters.
    #[schema(
        max_length = 200,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"
    )]
    pub name: String,
    pub sector: Sector,
}

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
    let body = body.0;
    let access = Access::new(
        Action::RegisterInstitution,
        Resource::Broker,
        ResourceRef::new(ResourceKind::Institution, Some(body.brin.to_string())),
        Purpose::Administration,
    );
    let view = perform(&state, &caller, access, move |conn, now| {
        let institution = Institution {
            brin: body.brin,
            oin: body.oin,
            name: checked_name("/name", &body.name)?,
            sector: body.sector,
            status: InstitutionStatus::Active,
            created_at: now,
            updated_at: now,
        };
        institutions::insert(conn, &institution)?;
        Ok(InstitutionView::from(institution))
    })
    .await?;
    Ok(HttpResponse::Created().json(view))
}

#[utoipa::path(tag = "registry", responses((status = 200, body = Vec<InstitutionView>)), security(("client_certificate" = []), ("bearer" = [])))]
#[get("/v1/institutions")]
pub async fn list(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, ApiError> {
    let access = Access::new(
        Action::ListInstitutions,
        Resource::Broker,
        ResourceRef::new(ResourceKind::Institution, None),
        Purpose::Administration,
    );
    let views = perform(&state, &caller, access, |conn, _| {
        Ok(institutions::list(conn)?
            .into_iter()
            .map(InstitutionView::from)
            .collect::<Vec<_>>())
    })
    .await?;
    Ok(HttpResponse::Ok().json(views))
}

fn institution_access(action: Action, brin: &Brin, kind: ResourceKind, id: Option<String>) -> Access {
    Access::new(
        action,
        Resource::Institution(brin.clone()),
        ResourceRef::new(kind, Some(id.unwrap_or_else(|| brin.to_string()))),
        Purpose::Administration,
    )
}

fn brin_param(raw: &str) -> Result<Brin, ApiError> {
    path_param("brin", raw, Brin::parse)
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
    let access = institution_access(Action::ReadInstitution, &brin, ResourceKind::Institution, None);
    let view = perform(&state, &caller, access, move |conn, _| {
        institutions::get(conn, &brin)?
            .map(InstitutionView::from)
            .ok_or(ApiError::NotFound)
    })
    .await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Changing an institution's name, OIN or status. Absent fields stay.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateInstitution {
    /// 1 to 200 characters, no control characters.
    #[serde(default)]
    #[schema(
        max_length = 200,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"
    )]
    pub name: Option<String>,
    #[schema(value_type = Option<String>, pattern = "^[0-9]{20}$")]
    #[serde(default)]
    pub oin: Option<Oin>,
    #[serde(default)]
    pub status: Option<InstitutionStatus>,
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
    let body = body.0;
    let access = institution_access(Action::UpdateInstitution, &brin, ResourceKind::Institution, None);
    let view = perform(&state, &caller, access, move |conn, now| {
        let name = body.name.as_deref().map(|n| checked_name("/name", n)).transpose()?;
        let updated = institutions::update(
            conn,
            &brin,
            name.as_deref(),
            body.oin.as_ref().map(Some),
            body.status,
            now,
        )?;
        updated.map(InstitutionView::from).ok_or(ApiError::NotFound)
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
    let published = crate::request_id::block(move || {
        state.store.read(|conn| {
            if institutions::get(conn, &brin)?.is_none_or(|i| i.status != InstitutionStatus::Active) {
                return Err(ApiError::NotFound);
            }
            let mut keys = keys::list_for(conn, &brin)?;
            keys.retain(|k| k.status != KeyStatus::Revoked);
            // Active keys first, so that a naive client picks a current one.
            keys.sort_by_key(|k| k.status != KeyStatus::Active);
            Ok::<_, ApiError>(keys)
        })
    })
    .await??;
    let mut set = Jwks { keys: Vec::new() };
    for key in published {
        let mut jwk: serde_json::Value =
            serde_json::from_str(&key.jwk).map_err(|e| ApiError::Internal(format!("stored JWK unreadable: {e}")))?;
        if let Some(members) = jwk.as_object_mut() {
            members.insert("status".into(), key.status.as_str().into());
        }
        set.keys.push(jwk);
    }
    Ok(HttpResponse::Ok().content_type("application/jwk-set+json").json(set))
}

/// A published key as the registry keeps it.
#[derive(Debug, Serialize, ToSchema)]
pub struct KeyView {
    pub kid: String,
    #[serde(rename = "use")]
    pub key_use: KeyUse,
    pub alg: String,
    pub status: KeyStatus,
    /// Expiry of the key's certificate (the first in its `x5c`).
    pub not_after: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub retired_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// The public JWK as published.
    #[schema(value_type = Object)]
    pub jwk: serde_json::Value,
}

impl From<InstitutionKey> for KeyView {
    fn from(k: InstitutionKey) -> Self {
        Self {
            jwk: serde_json::from_str(&k.jwk).unwrap_or(serde_json::Value::Null),
            kid: k.kid,
            key_use: k.key_use,
            alg: k.alg,
            status: k.status,
            not_after: k.not_after,
            created_at: k.created_at,
            retired_at: k.retired_at,
            revoked_at: k.revoked_at,
        }
    }
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
    let views = keys_of(&state, &caller, brin).await?;
    Ok(HttpResponse::Ok().json(views))
}

/// An institution's published keys (the API and the web console), audited
/// as `read_credentials`.
pub async fn keys_of(state: &web::Data<AppState>, caller: &Caller, brin: Brin) -> Result<Vec<KeyView>, ApiError> {
    let access = institution_access(Action::ReadCredentials, &brin, ResourceKind::InstitutionKeys, None);
    perform(state, caller, access, move |conn, _| {
        if institutions::get(conn, &brin)?.is_none() {
            return Err(ApiError::NotFound);
        }
        Ok(keys::list_for(conn, &brin)?
            .into_iter()
            .map(KeyView::from)
            .collect::<Vec<_>>())
    })
    .await
}

/// Publishing a new key.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddKey {
    /// A public JWK with `kid`, `use`, `alg` and an `x5c` chain to the
    /// broker's configured trust anchor.
    #[schema(value_type = Object)]
    pub jwk: serde_json::Value,
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
    let jwk_json = body.0.jwk;
    let kid = jwk_json.get("kid").and_then(|k| k.as_str()).map(str::to_owned);
    let access = institution_access(Action::ManageKeys, &brin, ResourceKind::InstitutionKey, kid);
    let checker = state.clone();
    let view = perform(&state, &caller, access, move |conn, now| {
        if institutions::get(conn, &brin)?.is_none() {
            return Err(ApiError::NotFound);
        }
        let key = checked_key(&jwk_json, &checker.trust_anchors, brin, now)?;
        keys::insert(conn, &key)?;
        Ok(KeyView::from(key))
    })
    .await?;
    Ok(HttpResponse::Created().json(view))
}

/// Parses a JWK submitted for publication and checks its `x5c` chain
/// against the trust anchors at `now`.
pub fn checked_key(
    jwk_json: &serde_json::Value,
    anchors: &TrustAnchors,
    brin: Brin,
    now: DateTime<Utc>,
) -> Result<InstitutionKey, ApiError> {
    let jwk = PublicJwk::parse(jwk_json).map_err(|e| ApiError::invalid("/jwk", e.to_string()))?;
    let chain = verify_x5c(&jwk, anchors, now).map_err(|e| ApiError::invalid("/jwk/x5c", e.to_string()))?;
    Ok(InstitutionKey {
        kid: jwk.kid().to_owned(),
        brin,
        key_use: jwk.key_use(),
        alg: jwk.alg().to_owned(),
        jwk: jwk.to_json().to_string(),
        status: KeyStatus::Active,
        not_after: chain.not_after,
        created_at: now,
        retired_at: None,
        revoked_at: None,
    })
}

async fn set_key_status(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
    status: KeyStatus,
) -> Result<HttpResponse, ApiError> {
    let (brin, kid) = path.into_inner();
    let brin = brin_param(&brin)?;
    let access = institution_access(
        Action::ManageKeys,
        &brin,
        ResourceKind::InstitutionKey,
        Some(kid.clone()),
    );
    let view = perform(&state, &caller, access, move |conn, now| {
        keys::set_status(conn, &brin, &kid, status, now)?
            .map(KeyView::from)
            .ok_or(ApiError::NotFound)
    })
    .await?;
    Ok(HttpResponse::Ok().json(view))
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
    set_key_status(state, caller, path, KeyStatus::Retired).await
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
    set_key_status(state, caller, path, KeyStatus::Revoked).await
}

/// A client certificate bound to an institution.
#[derive(Debug, Serialize, ToSchema)]
pub struct CertificateView {
    /// SHA-256 of the SubjectPublicKeyInfo, hex.
    pub fingerprint: String,
    pub subject: String,
    pub not_after: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<CertificateBinding> for CertificateView {
    fn from(c: CertificateBinding) -> Self {
        Self {
            fingerprint: c.fingerprint.to_string(),
            subject: c.subject,
            not_after: c.not_after,
            created_at: c.created_at,
            revoked_at: c.revoked_at,
        }
    }
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
    let views = certificates_of(&state, &caller, brin).await?;
    Ok(HttpResponse::Ok().json(views))
}

/// An institution's bound client certificates (the API and the web
/// console), audited as `read_credentials`.
pub async fn certificates_of(
    state: &web::Data<AppState>,
    caller: &Caller,
    brin: Brin,
) -> Result<Vec<CertificateView>, ApiError> {
    let access = institution_access(Action::ReadCredentials, &brin, ResourceKind::ClientCertificates, None);
    perform(state, caller, access, move |conn, _| {
        if institutions::get(conn, &brin)?.is_none() {
            return Err(ApiError::NotFound);
        }
        Ok(certificates::list_for(conn, &brin)?
            .into_iter()
            .map(CertificateView::from)
            .collect::<Vec<_>>())
    })
    .await
}

/// Binding a client certificate to an institution.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BindCertificate {
    /// The certificate, PEM. It must chain to the configured client CA and
    /// allow client authentication.
    pub certificate: String,
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
    let pem = body.0.certificate;
    let access = institution_access(Action::ManageCertificates, &brin, ResourceKind::ClientCertificate, None);
    let checker = state.clone();
    let view = perform(&state, &caller, access, move |conn, now| {
        if institutions::get(conn, &brin)?.is_none() {
            return Err(ApiError::NotFound);
        }
        let binding = parse_client_certificate(&checker.client_roots, &pem, &brin, now)?;
        certificates::bind(conn, &binding)?;
        Ok(CertificateView::from(binding))
    })
    .await?;
    Ok(HttpResponse::Created().json(view))
}

/// Parses a PEM client certificate for binding: it must chain to the client
/// CA at `now` and allow client authentication.
pub fn parse_client_certificate(
    roots: &ClientRoots,
    pem: &str,
    brin: &Brin,
    now: DateTime<Utc>,
) -> Result<CertificateBinding, ApiError> {
    let bad = |detail: &str| ApiError::invalid("/certificate", detail);
    let der = CertificateDer::from_pem_slice(pem.as_bytes()).map_err(|_| bad("certificate: not a PEM certificate"))?;
    let verified = roots
        .verify(std::slice::from_ref(&der), now)
        .map_err(|rejection| bad(rejection.as_str()))?;
    let (_, parsed) = x509_parser::parse_x509_certificate(&der).map_err(|_| bad("certificate: not valid X.509"))?;
    let not_after = chrono::DateTime::from_timestamp(parsed.validity().not_after.timestamp(), 0)
        .ok_or_else(|| bad("certificate: validity out of range"))?;
    Ok(CertificateBinding {
        fingerprint: verified.fingerprint,
        brin: brin.clone(),
        subject: parsed.subject().to_string(),
        not_after,
        created_at: now,
        revoked_at: None,
    })
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
    let (brin, fingerprint) = path.into_inner();
    let brin = brin_param(&brin)?;
    let fingerprint = path_param("fingerprint", &fingerprint, CertFingerprint::parse)?;
    let access = institution_access(
        Action::ManageCertificates,
        &brin,
        ResourceKind::ClientCertificate,
        Some(fingerprint.to_string()),
    );
    let view = perform(&state, &caller, access, move |conn, now| {
        certificates::revoke(conn, &brin, &fingerprint, now)?
            .map(CertificateView::from)
            .ok_or(ApiError::NotFound)
    })
    .await?;
    Ok(HttpResponse::Ok().json(view))
}
