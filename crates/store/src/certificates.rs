//! Client certificates bound to institutions. The binding is by the SHA-256
//! of the certificate's public key, so a renewed certificate for the same
//! key keeps working.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use doorstroom_domain::{Brin, CertFingerprint};

use crate::institutions::{self, Institution};
use crate::schema::{client_certificates, institutions as institutions_table};
use crate::{DbConn, StoreError, from_ms, from_ms_opt, guarded, parsed, to_ms};

/// A client certificate's key bound to one institution. It is revoked
/// exactly when `revoked_at` is set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateBinding {
    pub fingerprint: CertFingerprint,
    pub brin: Brin,
    /// The certificate's subject DN, for display.
    pub subject: String,
    pub not_after: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl CertificateBinding {
    pub fn is_revoked(&self) -> bool {
        self.revoked_at.is_some()
    }
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = client_certificates)]
struct Row {
    fingerprint: String,
    brin: String,
    subject: String,
    not_after: i64,
    created_at: i64,
    revoked_at: Option<i64>,
}

impl Row {
    fn from_domain(b: &CertificateBinding) -> Row {
        Row {
            fingerprint: b.fingerprint.as_str().to_owned(),
            brin: b.brin.as_str().to_owned(),
            subject: b.subject.clone(),
            not_after: to_ms(b.not_after),
            created_at: to_ms(b.created_at),
            revoked_at: b.revoked_at.map(to_ms),
        }
    }

    fn into_domain(self) -> Result<CertificateBinding, StoreError> {
        Ok(CertificateBinding {
            fingerprint: parsed(
                CertFingerprint::parse(&self.fingerprint),
                "client_certificates",
                "fingerprint",
            )?,
            brin: parsed(Brin::parse(&self.brin), "client_certificates", "brin")?,
            subject: self.subject,
            not_after: from_ms(self.not_after, "client_certificates", "not_after")?,
            revoked_at: from_ms_opt(self.revoked_at, "client_certificates", "revoked_at")?,
            created_at: from_ms(self.created_at, "client_certificates", "created_at")?,
        })
    }
}

/// Binds a certificate key to an institution. An already bound fingerprint
/// (to any institution, revoked or not) is `Conflict("certificate")`; an
/// unknown institution is `NotFound`.
pub fn bind(conn: &mut DbConn, binding: &CertificateBinding) -> Result<(), StoreError> {
    let row = Row::from_domain(binding);
    guarded(conn, "certificate", |c| {
        diesel::insert_into(client_certificates::table).values(&row).execute(c)
    })?;
    Ok(())
}

/// The binding of a fingerprint and its institution, in one query, for
/// authenticating a TLS client. Returned whatever the binding's or the
/// institution's status: the caller decides (revoked, expired, suspended).
pub fn find(
    conn: &mut DbConn,
    fingerprint: &CertFingerprint,
) -> Result<Option<(CertificateBinding, Institution)>, StoreError> {
    let found = crate::on_backend!(conn, |c| client_certificates::table
        .inner_join(institutions_table::table)
        .filter(client_certificates::fingerprint.eq(fingerprint.as_str()))
        .select((Row::as_select(), institutions::Row::as_select()))
        .first::<(Row, institutions::Row)>(c)
        .optional())?;
    match found {
        None => Ok(None),
        Some((binding, institution)) => Ok(Some((binding.into_domain()?, institution.into_domain()?))),
    }
}

impl crate::Store {
    /// [`find`] as the binding is now, in one statement outside any
    /// transaction ([`crate::Store::read_statement`]): every request with
    /// a client certificate makes this read before anything else, and it
    /// is never kept (a revocation stops the very next request).
    pub fn certificate_binding(
        &self,
        fingerprint: &CertFingerprint,
    ) -> Result<Option<(CertificateBinding, Institution)>, StoreError> {
        self.read_statement(|conn| find(conn, fingerprint))
    }
}

/// All bindings of an institution, revoked ones included, oldest first.
pub fn list_for(conn: &mut DbConn, brin: &Brin) -> Result<Vec<CertificateBinding>, StoreError> {
    client_certificates::table
        .filter(client_certificates::brin.eq(brin.as_str()))
        .order((
            client_certificates::created_at.asc(),
            client_certificates::fingerprint.asc(),
        ))
        .select(Row::as_select())
        .load(conn)?
        .into_iter()
        .map(Row::into_domain)
        .collect()
}

/// Revokes a binding of this institution; revoking again keeps the first
/// `revoked_at`. Returns the binding as it now is, or `None` if the
/// institution has no such binding.
pub fn revoke(
    conn: &mut DbConn,
    brin: &Brin,
    fingerprint: &CertFingerprint,
    now: DateTime<Utc>,
) -> Result<Option<CertificateBinding>, StoreError> {
    let this = client_certificates::table
        .filter(client_certificates::brin.eq(brin.as_str()))
        .filter(client_certificates::fingerprint.eq(fingerprint.as_str()));
    diesel::update(this.filter(client_certificates::revoked_at.is_null()))
        .set(client_certificates::revoked_at.eq(to_ms(now)))
        .execute(conn)?;
    this.select(Row::as_select())
        .first(conn)
        .optional()?
        .map(Row::into_domain)
        .transpose()
}
