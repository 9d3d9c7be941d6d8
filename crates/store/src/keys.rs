//! The JOSE keys an institution publishes (its JWKS).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use doorstroom_domain::exchange::KeyFacts;
use doorstroom_domain::{Brin, KeyStatus, KeyUse};

use crate::schema::institution_keys;
use crate::{DbConn, StoreError, from_ms, from_ms_opt, guarded, parsed, to_ms};

/// A published public key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstitutionKey {
    pub kid: String,
    pub brin: Brin,
    pub key_use: KeyUse,
    pub alg: String,
    /// The public JWK as JSON, with its `x5c` chain.
    pub jwk: String,
    pub status: KeyStatus,
    /// Expiry of the key's certificate.
    pub not_after: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub retired_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = institution_keys)]
struct Row {
    kid: String,
    brin: String,
    key_use: String,
    alg: String,
    jwk: String,
    status: String,
    not_after: i64,
    created_at: i64,
    retired_at: Option<i64>,
    revoked_at: Option<i64>,
}

impl Row {
    fn from_domain(k: &InstitutionKey) -> Row {
        Row {
            kid: k.kid.clone(),
            brin: k.brin.as_str().to_owned(),
            key_use: k.key_use.as_str().to_owned(),
            alg: k.alg.clone(),
            jwk: k.jwk.clone(),
            status: k.status.as_str().to_owned(),
            not_after: to_ms(k.not_after),
            created_at: to_ms(k.created_at),
            retired_at: k.retired_at.map(to_ms),
            revoked_at: k.revoked_at.map(to_ms),
        }
    }

    fn into_domain(self) -> Result<InstitutionKey, StoreError> {
        Ok(InstitutionKey {
            kid: self.kid,
            brin: parsed(Brin::parse(&self.brin), "institution_keys", "brin")?,
            key_use: parsed(KeyUse::parse(&self.key_use), "institution_keys", "key_use")?,
            alg: self.alg,
            jwk: self.jwk,
            status: parsed(KeyStatus::parse(&self.status), "institution_keys", "status")?,
            not_after: from_ms(self.not_after, "institution_keys", "not_after")?,
            created_at: from_ms(self.created_at, "institution_keys", "created_at")?,
            retired_at: from_ms_opt(self.retired_at, "institution_keys", "retired_at")?,
            revoked_at: from_ms_opt(self.revoked_at, "institution_keys", "revoked_at")?,
        })
    }
}

/// Publishes a key. A duplicate `kid` (kids are unique across the broker)
/// is `Conflict("key")`; an unknown institution is `NotFound`.
pub fn insert(conn: &mut DbConn, key: &InstitutionKey) -> Result<(), StoreError> {
    let row = Row::from_domain(key);
    guarded(conn, "key", |c| {
        diesel::insert_into(institution_keys::table).values(&row).execute(c)
    })?;
    Ok(())
}

pub fn get(conn: &mut DbConn, brin: &Brin, kid: &str) -> Result<Option<InstitutionKey>, StoreError> {
    institution_keys::table
        .filter(institution_keys::brin.eq(brin.as_str()))
        .filter(institution_keys::kid.eq(kid))
        .select(Row::as_select())
        .first(conn)
        .optional()?
        .map(Row::into_domain)
        .transpose()
}

/// What the exchange's checks read of the key `kid` of `brin`: its use,
/// status and algorithm, without the JWK (one `SELECT` by the primary
/// key). `None` if the institution has no such key.
pub fn facts(conn: &mut DbConn, brin: &Brin, kid: &str) -> Result<Option<KeyFacts>, StoreError> {
    crate::on_backend!(conn, |c| institution_keys::table
        .filter(institution_keys::brin.eq(brin.as_str()))
        .filter(institution_keys::kid.eq(kid))
        .select((
            institution_keys::key_use,
            institution_keys::status,
            institution_keys::alg,
        ))
        .first::<(String, String, String)>(c)
        .optional())?
    .map(key_facts)
    .transpose()
}

/// [`facts`] of several keys of `brin` at once (one `SELECT`), by `kid`;
/// a `kid` the institution does not have is absent from the answer.
pub fn facts_of(
    conn: &mut DbConn,
    brin: &Brin,
    kids: &[&str],
) -> Result<std::collections::BTreeMap<String, KeyFacts>, StoreError> {
    if kids.is_empty() {
        return Ok(std::collections::BTreeMap::new());
    }
    // All of the institution's keys (a handful), filtered here: `kid IN (…)`
    // of varying length would be prepared afresh on every submission.
    crate::on_backend!(conn, |c| institution_keys::table
        .filter(institution_keys::brin.eq(brin.as_str()))
        .select((
            institution_keys::kid,
            (
                institution_keys::key_use,
                institution_keys::status,
                institution_keys::alg,
            ),
        ))
        .load::<(String, (String, String, String))>(c))?
    .into_iter()
    .filter(|(kid, _)| kids.contains(&kid.as_str()))
    .map(|(kid, row)| Ok((kid, key_facts(row)?)))
    .collect()
}

fn key_facts((key_use, status, alg): (String, String, String)) -> Result<KeyFacts, StoreError> {
    Ok(KeyFacts {
        key_use: parsed(KeyUse::parse(&key_use), "institution_keys", "key_use")?,
        status: parsed(KeyStatus::parse(&status), "institution_keys", "status")?,
        alg,
    })
}

/// All keys of an institution, in every status, ordered by creation.
pub fn list_for(conn: &mut DbConn, brin: &Brin) -> Result<Vec<InstitutionKey>, StoreError> {
    institution_keys::table
        .filter(institution_keys::brin.eq(brin.as_str()))
        .order((institution_keys::created_at.asc(), institution_keys::kid.asc()))
        .select(Row::as_select())
        .load(conn)?
        .into_iter()
        .map(Row::into_domain)
        .collect()
}

/// Moves a key forward in its life: `active → retired → revoked`, or
/// straight to `revoked`. A key never moves back: revoking a revoked key
/// keeps its first `revoked_at`, retiring a revoked or retired key changes
/// nothing, and asking for `active` changes nothing. Each step is one
/// conditional `UPDATE`, so concurrent callers cannot undo each other.
/// Returns the key as it now is, or `None` if the institution has no such key.
pub fn set_status(
    conn: &mut DbConn,
    brin: &Brin,
    kid: &str,
    status: KeyStatus,
    now: DateTime<Utc>,
) -> Result<Option<InstitutionKey>, StoreError> {
    let this = institution_keys::table
        .filter(institution_keys::brin.eq(brin.as_str()))
        .filter(institution_keys::kid.eq(kid));
    match status {
        KeyStatus::Active => {}
        KeyStatus::Retired => {
            diesel::update(this.filter(institution_keys::status.eq(KeyStatus::Active.as_str())))
                .set((
                    institution_keys::status.eq(KeyStatus::Retired.as_str()),
                    institution_keys::retired_at.eq(to_ms(now)),
                ))
                .execute(conn)?;
        }
        KeyStatus::Revoked => {
            diesel::update(this.filter(institution_keys::status.ne(KeyStatus::Revoked.as_str())))
                .set((
                    institution_keys::status.eq(KeyStatus::Revoked.as_str()),
                    institution_keys::revoked_at.eq(to_ms(now)),
                ))
                .execute(conn)?;
        }
    }
    get(conn, brin, kid)
}
