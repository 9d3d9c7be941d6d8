//! The institution registry: institutions, their published JOSE keys and
//! the client certificates bound to them. The API, the web console and the
//! operator's command line (with [`Principal::Operator`]) all call these.
//!
//! These take the store and the time rather than an [`crate::App`]: the
//! operator's command line and the demo seeding run them without the
//! broker's receipt key and pseudonym secrets, which none of them needs.
//!
//! [`Principal::Operator`]: doorstroom_domain::Principal::Operator

use chrono::{DateTime, Utc};
use doorstroom_api::institutions::{
    CertificateView, ContactView, HandoverContactBody, InstitutionView, KeyView, RegisterInstitution, SetContact,
    UpdateInstitution,
};
use doorstroom_domain::{
    Action, Brin, CertFingerprint, HandoverContact, InstitutionStatus, KeyStatus, Purpose, RawContact, Resource,
    ResourceKind, ResourceRef,
};
use doorstroom_jose::{Jwks, PublicJwk, TrustAnchors, verify_x5c};
use doorstroom_store::certificates::CertificateBinding;
use doorstroom_store::institutions::Institution;
use doorstroom_store::keys::InstitutionKey;
use doorstroom_store::{DbConn, Store, certificates, contacts, institutions, keys};

use crate::key_cache::KeyCache;
use crate::{Access, AppError, Caller, perform_in};

/// How an institution is shown.
pub fn institution_view(i: Institution) -> InstitutionView {
    InstitutionView {
        brin: i.brin.to_string(),
        oin: i.oin.map(|o| o.to_string()),
        name: i.name,
        sector: i.sector,
        status: i.status,
        created_at: i.created_at,
        updated_at: i.updated_at,
    }
}

/// How a published key is shown.
pub fn key_view(k: InstitutionKey) -> KeyView {
    KeyView {
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

/// How a certificate binding is shown.
pub fn certificate_view(c: CertificateBinding) -> CertificateView {
    CertificateView {
        fingerprint: c.fingerprint.to_string(),
        subject: c.subject,
        not_after: c.not_after,
        created_at: c.created_at,
        revoked_at: c.revoked_at,
    }
}

/// A name that follows the domain's short-text rule, or 422 at `pointer`.
fn checked_name(pointer: &str, raw: &str) -> Result<String, AppError> {
    doorstroom_domain::short_text("name", raw).map_err(|e| AppError::field(pointer, e))
}

fn broker_access(action: Action, record: Option<String>) -> Access {
    Access::new(
        action,
        Resource::Broker,
        ResourceRef::new(ResourceKind::Institution, record),
        Purpose::Administration,
    )
}

/// An access to `brin`'s records of `kind`; the record is named `id`, or
/// the BRIN itself.
fn institution_access(action: Action, brin: &Brin, kind: ResourceKind, id: Option<String>) -> Access {
    Access::new(
        action,
        Resource::Institution(brin.clone()),
        ResourceRef::new(kind, Some(id.unwrap_or_else(|| brin.to_string()))),
        Purpose::Administration,
    )
}

/// Not found unless `brin` is registered.
fn registered(conn: &mut DbConn, brin: &Brin) -> Result<(), AppError> {
    match institutions::get(conn, brin)? {
        Some(_) => Ok(()),
        None => Err(AppError::NotFound),
    }
}

/// Registers an institution, active. Broker admins and the operator;
/// audited as `register_institution`.
pub fn register_institution(
    store: &Store,
    now: DateTime<Utc>,
    caller: Caller<'_>,
    command: RegisterInstitution,
) -> Result<InstitutionView, AppError> {
    let access = broker_access(Action::RegisterInstitution, Some(command.brin.to_string()));
    perform_in(store, now, caller, access, |ctx| {
        let institution = Institution {
            brin: command.brin,
            oin: command.oin,
            name: checked_name("/name", &command.name)?,
            sector: command.sector,
            status: InstitutionStatus::Active,
            created_at: ctx.now,
            updated_at: ctx.now,
        };
        institutions::insert(ctx.conn, &institution)?;
        Ok(institution_view(institution))
    })
}

/// The registry, every institution. Broker staff and the operator; audited
/// as `list_institutions`.
pub fn list_institutions(
    store: &Store,
    now: DateTime<Utc>,
    caller: Caller<'_>,
) -> Result<Vec<InstitutionView>, AppError> {
    perform_in(
        store,
        now,
        caller,
        broker_access(Action::ListInstitutions, None),
        |ctx| {
            Ok(institutions::list(ctx.conn)?
                .into_iter()
                .map(institution_view)
                .collect())
        },
    )
}

/// One institution, to whoever may read it (its own staff and systems,
/// broker staff); audited as `read_institution`.
pub fn read_institution(
    store: &Store,
    now: DateTime<Utc>,
    caller: Caller<'_>,
    brin: Brin,
) -> Result<InstitutionView, AppError> {
    let access = institution_access(Action::ReadInstitution, &brin, ResourceKind::Institution, None);
    perform_in(store, now, caller, access, |ctx| {
        institutions::get(ctx.conn, &brin)?
            .map(institution_view)
            .ok_or(AppError::NotFound)
    })
}

/// Changes an institution's name, OIN or status (absent fields stay);
/// audited as `update_institution`.
pub fn update_institution(
    store: &Store,
    now: DateTime<Utc>,
    caller: Caller<'_>,
    brin: Brin,
    command: UpdateInstitution,
) -> Result<InstitutionView, AppError> {
    let access = institution_access(Action::UpdateInstitution, &brin, ResourceKind::Institution, None);
    perform_in(store, now, caller, access, |ctx| {
        let name = command.name.as_deref().map(|n| checked_name("/name", n)).transpose()?;
        let oin = command.oin.as_ref().map(Some);
        institutions::update(ctx.conn, &brin, name.as_deref(), oin, command.status, ctx.now)?
            .map(institution_view)
            .ok_or(AppError::NotFound)
    })
}

/// Sets an institution's contacts: the one for the warm handover and how
/// students reach its privacy officer (each absent or `null` is removed:
/// `PUT` replaces both). Its own admin (and the broker's) may, as with its
/// certificates and webhook: recorded as `manage_certificates` on the
/// institution's handover contact. This is the one door for both; the
/// registry's `PATCH` no longer takes the privacy contact.
pub fn set_contact(
    store: &Store,
    now: DateTime<Utc>,
    caller: Caller<'_>,
    brin: Brin,
    command: SetContact,
) -> Result<ContactView, AppError> {
    let access = institution_access(Action::ManageCertificates, &brin, ResourceKind::HandoverContact, None);
    let checked = command
        .handover
        .map(|body| HandoverContact::parse(&raw_contact(body)))
        .transpose();
    perform_in(store, now, caller, access, |ctx| {
        registered(ctx.conn, &brin)?;
        let handover = checked.map_err(|e| AppError::field(&format!("/handover{}", e.field), e.error))?;
        let privacy = command
            .privacy
            .as_deref()
            .map(|raw| doorstroom_domain::short_text("privacy", raw).map_err(|e| AppError::field("/privacy", e)))
            .transpose()?;
        match handover {
            Some(contact) => contacts::set(ctx.conn, &brin, &contact, ctx.now)?,
            None => {
                contacts::delete(ctx.conn, &brin)?;
            }
        }
        doorstroom_store::transparency::set_privacy_contact(ctx.conn, &brin, privacy.as_deref())?;
        contact_view(ctx.conn, &brin)
    })
}

/// An institution's contact for the warm handover: for everyone in the
/// exchange who may read the institution (its intakers call the vo
/// school's); recorded as `read_institution`.
pub fn read_contact(
    store: &Store,
    now: DateTime<Utc>,
    caller: Caller<'_>,
    brin: Brin,
) -> Result<ContactView, AppError> {
    let access = institution_access(Action::ReadInstitution, &brin, ResourceKind::HandoverContact, None);
    perform_in(store, now, caller, access, |ctx| {
        registered(ctx.conn, &brin)?;
        contact_view(ctx.conn, &brin)
    })
}

fn raw_contact(body: HandoverContactBody) -> RawContact {
    RawContact {
        name: body.name,
        role: body.role,
        email: body.email,
        phone: body.phone,
    }
}

fn contact_view(conn: &mut DbConn, brin: &Brin) -> Result<ContactView, AppError> {
    let stored = contacts::get(conn, brin)?;
    let privacy = doorstroom_store::transparency::privacy_contacts(conn, std::slice::from_ref(brin))?
        .into_iter()
        .next()
        .map(|(_, contact)| contact);
    Ok(ContactView {
        privacy,
        updated_at: stored.as_ref().map(|s| s.updated_at),
        handover: stored.map(|s| HandoverContactBody {
            name: s.handover.name().to_owned(),
            role: s.handover.role().map(str::to_owned),
            email: s.handover.email().map(str::to_owned),
            phone: s.handover.phone().map(str::to_owned),
        }),
    })
}

/// The public JWK Set of an active institution: active keys first, then
/// retired ones (they still verify older signatures), never revoked ones;
/// each JWK with an extra member `status`. Public: not audited, since
/// keys are no personal data and anyone may check them.
pub fn published_jwks(store: &Store, brin: Brin) -> Result<Jwks, AppError> {
    let published = store.read(|conn| {
        if institutions::get(conn, &brin)?.is_none_or(|i| i.status != InstitutionStatus::Active) {
            return Err(AppError::NotFound);
        }
        let mut keys = keys::list_for(conn, &brin)?;
        keys.retain(|k| k.status != KeyStatus::Revoked);
        // Active keys first, so that a naive client picks a current one.
        keys.sort_by_key(|k| k.status != KeyStatus::Active);
        Ok::<_, AppError>(keys)
    })?;
    let mut set = Jwks { keys: Vec::new() };
    for key in published {
        let mut jwk: serde_json::Value =
            serde_json::from_str(&key.jwk).map_err(|e| AppError::Internal(format!("stored JWK unreadable: {e}")))?;
        if let Some(members) = jwk.as_object_mut() {
            members.insert("status".into(), key.status.as_str().into());
        }
        set.keys.push(jwk);
    }
    Ok(set)
}

/// An institution's published keys, every status; audited as
/// `read_credentials`.
pub fn list_keys(store: &Store, now: DateTime<Utc>, caller: Caller<'_>, brin: Brin) -> Result<Vec<KeyView>, AppError> {
    let access = institution_access(Action::ReadCredentials, &brin, ResourceKind::InstitutionKeys, None);
    perform_in(store, now, caller, access, |ctx| {
        registered(ctx.conn, &brin)?;
        Ok(keys::list_for(ctx.conn, &brin)?.into_iter().map(key_view).collect())
    })
}

/// Publishes a key for an institution once its `x5c` chain checks out
/// against `anchors` ([`checked_key`]); audited as `manage_keys` of the
/// key's `kid`.
pub fn add_key(
    store: &Store,
    now: DateTime<Utc>,
    caller: Caller<'_>,
    anchors: &TrustAnchors,
    brin: Brin,
    jwk: serde_json::Value,
) -> Result<KeyView, AppError> {
    let kid = jwk.get("kid").and_then(|k| k.as_str()).map(str::to_owned);
    let access = institution_access(Action::ManageKeys, &brin, ResourceKind::InstitutionKey, kid);
    perform_in(store, now, caller, access, |ctx| {
        registered(ctx.conn, &brin)?;
        let key = checked_key(&jwk, anchors, brin, ctx.now)?;
        keys::insert(ctx.conn, &key)?;
        Ok(key_view(key))
    })
}

/// Parses a JWK submitted for publication and checks its `x5c` chain
/// against the trust anchors at `now`.
pub fn checked_key(
    jwk_json: &serde_json::Value,
    anchors: &TrustAnchors,
    brin: Brin,
    now: DateTime<Utc>,
) -> Result<InstitutionKey, AppError> {
    let jwk = PublicJwk::parse(jwk_json).map_err(|e| AppError::invalid("/jwk", e.to_string()))?;
    let chain = verify_x5c(&jwk, anchors, now).map_err(|e| AppError::invalid("/jwk/x5c", e.to_string()))?;
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

/// Retires a key: no longer used for new packages, but it still verifies
/// or decrypts what was made with it. Audited as `manage_keys`. `cache`
/// (this node's parsed keys) forgets it.
pub fn retire_key(
    store: &Store,
    cache: &KeyCache,
    now: DateTime<Utc>,
    caller: Caller<'_>,
    brin: Brin,
    kid: String,
) -> Result<KeyView, AppError> {
    set_key_status(store, cache, now, caller, (brin, kid), KeyStatus::Retired)
}

/// Revokes a key: never trusted again, gone from the JWKS. Audited as
/// `manage_keys`. `cache` (this node's parsed keys) forgets it; other
/// nodes, and a revocation from the command line, need no telling: a
/// submission reads its key's status in its own transaction.
pub fn revoke_key(
    store: &Store,
    cache: &KeyCache,
    now: DateTime<Utc>,
    caller: Caller<'_>,
    brin: Brin,
    kid: String,
) -> Result<KeyView, AppError> {
    set_key_status(store, cache, now, caller, (brin, kid), KeyStatus::Revoked)
}

fn set_key_status(
    store: &Store,
    cache: &KeyCache,
    now: DateTime<Utc>,
    caller: Caller<'_>,
    (brin, kid): (Brin, String),
    status: KeyStatus,
) -> Result<KeyView, AppError> {
    let access = institution_access(
        Action::ManageKeys,
        &brin,
        ResourceKind::InstitutionKey,
        Some(kid.clone()),
    );
    let changed = perform_in(store, now, caller, access, |ctx| {
        keys::set_status(ctx.conn, &brin, &kid, status, ctx.now)?
            .map(key_view)
            .ok_or(AppError::NotFound)
    });
    // Forgotten once the change committed (or not: the cache is no
    // authority, and a key forgotten for nothing is read again once).
    cache.forget(&brin, &kid);
    changed
}

/// An institution's bound client certificates; audited as
/// `read_credentials`.
pub fn list_certificates(
    store: &Store,
    now: DateTime<Utc>,
    caller: Caller<'_>,
    brin: Brin,
) -> Result<Vec<CertificateView>, AppError> {
    let access = institution_access(Action::ReadCredentials, &brin, ResourceKind::ClientCertificates, None);
    perform_in(store, now, caller, access, |ctx| {
        registered(ctx.conn, &brin)?;
        Ok(certificates::list_for(ctx.conn, &brin)?
            .into_iter()
            .map(certificate_view)
            .collect())
    })
}

/// What checks a client certificate before it is bound: the broker's
/// client CA (the server's TLS roots, which this crate does not link).
pub trait ClientCertificateCheck {
    /// The binding of the PEM certificate `pem` to `brin` at `now`, if it
    /// chains to the client CA and allows client authentication; otherwise
    /// why not (safe to show).
    fn binding(&self, pem: &str, brin: &Brin, now: DateTime<Utc>) -> Result<CertificateBinding, &'static str>;
}

/// Binds a client certificate to an institution, once `check` accepts it;
/// audited as `manage_certificates`.
pub fn bind_certificate(
    store: &Store,
    now: DateTime<Utc>,
    caller: Caller<'_>,
    check: &dyn ClientCertificateCheck,
    brin: Brin,
    pem: String,
) -> Result<CertificateView, AppError> {
    let access = institution_access(Action::ManageCertificates, &brin, ResourceKind::ClientCertificate, None);
    perform_in(store, now, caller, access, |ctx| {
        registered(ctx.conn, &brin)?;
        let binding = check
            .binding(&pem, &brin, ctx.now)
            .map_err(|detail| AppError::invalid("/certificate", detail))?;
        certificates::bind(ctx.conn, &binding)?;
        Ok(certificate_view(binding))
    })
}

/// Revokes a certificate binding: the certificate stops authenticating at
/// once, on every broker node. Audited as `manage_certificates`.
pub fn revoke_certificate(
    store: &Store,
    now: DateTime<Utc>,
    caller: Caller<'_>,
    brin: Brin,
    fingerprint: CertFingerprint,
) -> Result<CertificateView, AppError> {
    let access = institution_access(
        Action::ManageCertificates,
        &brin,
        ResourceKind::ClientCertificate,
        Some(fingerprint.to_string()),
    );
    perform_in(store, now, caller, access, |ctx| {
        certificates::revoke(ctx.conn, &brin, &fingerprint, ctx.now)?
            .map(certificate_view)
            .ok_or(AppError::NotFound)
    })
}
