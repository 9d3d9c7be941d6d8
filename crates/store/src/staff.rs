//! Staff accounts (people who log in).

use std::str::FromStr;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use doorstroom_domain::{Brin, Role, StaffId, StaffStatus, Username};

use crate::schema::staff_accounts;
use crate::{DbConn, StoreError, from_ms, guarded, parsed, to_ms};

/// A staff account. Its `Debug` output redacts the password hash and the
/// TOTP secret.
#[derive(Clone, PartialEq, Eq)]
pub struct StaffAccount {
    pub id: StaffId,
    pub username: Username,
    pub display_name: String,
    pub role: Role,
    /// `None` for the broker's own staff.
    pub institution: Option<Brin>,
    /// A PHC string (argon2id).
    pub password_hash: String,
    /// The TOTP secret as stored (the server seals it: see
    /// `doorstroom_server::secrets::TotpKey`); `None` until a second factor
    /// is enrolled.
    pub totp_secret: Option<String>,
    pub status: StaffStatus,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl std::fmt::Debug for StaffAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StaffAccount")
            .field("id", &self.id)
            .field("username", &self.username)
            .field("display_name", &self.display_name)
            .field("role", &self.role)
            .field("institution", &self.institution)
            .field("password_hash", &"***")
            .field("totp_secret", &self.totp_secret.as_ref().map(|_| "***"))
            .field("status", &self.status)
            .field("created_at", &self.created_at)
            .field("updated_at", &self.updated_at)
            .finish()
    }
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = staff_accounts)]
struct Row {
    id: String,
    username: String,
    display_name: String,
    role: String,
    brin: Option<String>,
    password_hash: String,
    totp_secret: Option<String>,
    status: String,
    created_at: i64,
    updated_at: i64,
}

impl Row {
    fn from_domain(a: &StaffAccount) -> Row {
        Row {
            id: a.id.to_string(),
            username: a.username.as_str().to_owned(),
            display_name: a.display_name.clone(),
            role: a.role.as_str().to_owned(),
            brin: a.institution.as_ref().map(|b| b.as_str().to_owned()),
            password_hash: a.password_hash.clone(),
            totp_secret: a.totp_secret.clone(),
            status: a.status.as_str().to_owned(),
            created_at: to_ms(a.created_at),
            updated_at: to_ms(a.updated_at),
        }
    }

    fn into_domain(self) -> Result<StaffAccount, StoreError> {
        Ok(StaffAccount {
            id: parsed(StaffId::from_str(&self.id), "staff_accounts", "id")?,
            username: parsed(Username::parse(&self.username), "staff_accounts", "username")?,
            display_name: self.display_name,
            role: parsed(Role::parse(&self.role), "staff_accounts", "role")?,
            institution: self
                .brin
                .as_deref()
                .map(|b| parsed(Brin::parse(b), "staff_accounts", "brin"))
                .transpose()?,
            password_hash: self.password_hash,
            totp_secret: self.totp_secret,
            status: parsed(StaffStatus::parse(&self.status), "staff_accounts", "status")?,
            created_at: from_ms(self.created_at, "staff_accounts", "created_at")?,
            updated_at: from_ms(self.updated_at, "staff_accounts", "updated_at")?,
        })
    }
}

/// Creates an account. A taken username is `Conflict("username")` (a
/// duplicate id `Conflict("staff_account")`); an unknown institution is
/// `NotFound`.
pub fn insert(conn: &mut DbConn, account: &StaffAccount) -> Result<(), StoreError> {
    let row = Row::from_domain(account);
    let inserted = guarded(conn, "staff_account", |c| {
        diesel::insert_into(staff_accounts::table).values(&row).execute(c)
    });
    match inserted {
        Ok(_) => Ok(()),
        // Which unique constraint was hit is read back rather than parsed
        // from the backend's error text.
        Err(StoreError::Conflict(_)) if username_taken(conn, &row.username)? => Err(StoreError::Conflict("username")),
        Err(e) => Err(e),
    }
}

fn username_taken(conn: &mut DbConn, username: &str) -> Result<bool, StoreError> {
    Ok(staff_accounts::table
        .filter(staff_accounts::username.eq(username))
        .count()
        .get_result::<i64>(conn)?
        > 0)
}

pub fn get(conn: &mut DbConn, id: StaffId) -> Result<Option<StaffAccount>, StoreError> {
    let id = id.to_string();
    crate::on_backend!(conn, |c| staff_accounts::table
        .find(&id)
        .select(Row::as_select())
        .first(c)
        .optional())?
    .map(Row::into_domain)
    .transpose()
}

pub fn by_username(conn: &mut DbConn, username: &Username) -> Result<Option<StaffAccount>, StoreError> {
    staff_accounts::table
        .filter(staff_accounts::username.eq(username.as_str()))
        .select(Row::as_select())
        .first(conn)
        .optional()?
        .map(Row::into_domain)
        .transpose()
}

/// The accounts of one institution (`Some`), or all accounts (`None`),
/// ordered by username.
pub fn list(conn: &mut DbConn, institution: Option<&Brin>) -> Result<Vec<StaffAccount>, StoreError> {
    let mut query = staff_accounts::table
        .select(Row::as_select())
        .order(staff_accounts::username.asc())
        .into_boxed();
    if let Some(brin) = institution {
        query = query.filter(staff_accounts::brin.eq(brin.as_str()));
    }
    query.load(conn)?.into_iter().map(Row::into_domain).collect()
}

/// Activates or deactivates an account. `None` if there is no such account.
pub fn set_status(
    conn: &mut DbConn,
    id: StaffId,
    status: StaffStatus,
    now: DateTime<Utc>,
) -> Result<Option<StaffAccount>, StoreError> {
    let updated = diesel::update(staff_accounts::table.find(id.to_string()))
        .set((
            staff_accounts::status.eq(status.as_str()),
            staff_accounts::updated_at.eq(to_ms(now)),
        ))
        .execute(conn)?;
    if updated == 0 {
        return Ok(None);
    }
    get(conn, id)
}

/// Enrols (`Some`) or resets (`None`) the TOTP secret. `None` if there is no
/// such account.
pub fn set_totp_secret(
    conn: &mut DbConn,
    id: StaffId,
    secret: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Option<StaffAccount>, StoreError> {
    let updated = diesel::update(staff_accounts::table.find(id.to_string()))
        .set((
            staff_accounts::totp_secret.eq(secret),
            staff_accounts::updated_at.eq(to_ms(now)),
        ))
        .execute(conn)?;
    if updated == 0 {
        return Ok(None);
    }
    get(conn, id)
}

/// Marks the TOTP time step `step` as used for the account, if no code of
/// that step or a later one was used before. `true` if it was marked now;
/// `false` for a replay (or no such account). One conditional `UPDATE`: on
/// PostgreSQL a concurrent login of the same account waits for the row lock
/// and then finds the step taken; on SQLite writers are serialised, so the
/// same holds across broker nodes sharing one database.
pub fn use_totp_step(conn: &mut DbConn, id: StaffId, step: i64) -> Result<bool, StoreError> {
    let updated = diesel::update(
        staff_accounts::table.find(id.to_string()).filter(
            staff_accounts::totp_last_step
                .is_null()
                .or(staff_accounts::totp_last_step.lt(step)),
        ),
    )
    .set(staff_accounts::totp_last_step.eq(step))
    .execute(conn)?;
    Ok(updated == 1)
}

/// The stored TOTP secrets that do not start with `sealed_prefix` (secrets
/// written before they were encrypted at rest), by account.
pub fn totp_secrets_without_prefix(
    conn: &mut DbConn,
    sealed_prefix: &str,
) -> Result<Vec<(StaffId, String)>, StoreError> {
    let rows: Vec<(String, Option<String>)> = staff_accounts::table
        .filter(staff_accounts::totp_secret.is_not_null())
        .filter(staff_accounts::totp_secret.not_like(format!("{sealed_prefix}%")))
        .select((staff_accounts::id, staff_accounts::totp_secret))
        .load(conn)?;
    rows.into_iter()
        .filter_map(|(id, secret)| secret.map(|s| (id, s)))
        .map(|(id, secret)| Ok((parsed(StaffId::from_str(&id), "staff_accounts", "id")?, secret)))
        .collect()
}

/// Replaces the stored TOTP secret `old` by `new` (same secret, another
/// storage format), only if it is still `old`: a concurrent enrolment or a
/// second node doing the same wins. `true` if replaced.
pub fn replace_totp_secret(conn: &mut DbConn, id: StaffId, old: &str, new: &str) -> Result<bool, StoreError> {
    let updated = diesel::update(
        staff_accounts::table
            .find(id.to_string())
            .filter(staff_accounts::totp_secret.eq(old)),
    )
    .set(staff_accounts::totp_secret.eq(new))
    .execute(conn)?;
    Ok(updated == 1)
}

/// The deactivated accounts whose last change (`updated_at`) lies at or
/// before `until`. Deactivation is the last change an account's status
/// gets; a later one (a second factor reset) only moves the moment later,
/// so an account goes no earlier than its rule says. Few rows (the people
/// who log in), so no index of its own.
#[diesel::dsl::auto_type]
fn deactivated_until(until: i64) -> _ {
    let deactivated: &'static str = StaffStatus::Deactivated.as_str();
    staff_accounts::status
        .eq(deactivated)
        .and(staff_accounts::updated_at.le(until))
}

/// Deletes the accounts deactivated at or before `until` (see the domain's
/// `RetentionPolicy::staff_accounts_due_until`), at most `limit`, with any
/// console session left of them; returns which went.
pub fn delete_deactivated_until(
    conn: &mut DbConn,
    until: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<StaffId>, StoreError> {
    let due: Vec<String> = staff_accounts::table
        .filter(deactivated_until(to_ms(until)))
        .select(staff_accounts::id)
        .order((staff_accounts::updated_at.asc(), staff_accounts::id.asc()))
        .limit(limit.max(0))
        .load(conn)?;
    let mut gone = Vec::with_capacity(due.len());
    for id in due {
        let id = parsed(StaffId::from_str(&id), "staff_accounts", "id")?;
        crate::console_sessions::delete_for_staff(conn, id)?;
        diesel::delete(staff_accounts::table.find(id.to_string())).execute(conn)?;
        gone.push(id);
    }
    Ok(gone)
}

/// How many accounts [`delete_deactivated_until`] would delete now, for
/// the purge's dry run.
pub fn count_deactivated_until(conn: &mut DbConn, until: DateTime<Utc>) -> Result<i64, StoreError> {
    Ok(staff_accounts::table
        .filter(deactivated_until(to_ms(until)))
        .count()
        .get_result(conn)?)
}
