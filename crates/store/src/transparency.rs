//! Transparency links to the student's own page, and the page's sessions.
//!
//! A link belongs to the school that issued it (`school`) and is about one
//! student (the pseudonym). The store keeps only keyed hashes of the token
//! and the code (computed by the app, which holds the key), the link's
//! times and its count of wrong codes; a session only the SHA-256 of its
//! random id, as the console's.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use doorstroom_domain::{Brin, Pseudonym};
use uuid::Uuid;

use crate::schema::{transparency_links as links, transparency_sessions as sessions};
use crate::{DbConn, StoreError, from_ms, from_ms_opt, guarded, parse_id, parsed, to_ms};

const T: &str = "transparency_links";

/// A stored link (never its token or code).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub id: Uuid,
    pub school: Brin,
    pub student: Pseudonym,
    pub code_hash: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub failed_attempts: i64,
    pub locked_at: Option<DateTime<Utc>>,
    pub opened_at: Option<DateTime<Utc>>,
}

/// What [`insert`] stores.
pub struct NewLink<'a> {
    pub id: Uuid,
    pub school: &'a Brin,
    pub student: &'a Pseudonym,
    pub token_hash: &'a str,
    pub code_hash: &'a str,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = links)]
struct Row {
    id: String,
    school: String,
    student: String,
    code_hash: String,
    created_at: i64,
    expires_at: i64,
    revoked_at: Option<i64>,
    failed_attempts: i32,
    locked_at: Option<i64>,
    opened_at: Option<i64>,
}

impl Row {
    fn into_domain(self) -> Result<Link, StoreError> {
        Ok(Link {
            id: parse_id(&self.id, T, "id")?,
            school: parsed(Brin::parse(&self.school), T, "school")?,
            student: parsed(Pseudonym::parse(&self.student), T, "student")?,
            code_hash: self.code_hash,
            created_at: from_ms(self.created_at, T, "created_at")?,
            expires_at: from_ms(self.expires_at, T, "expires_at")?,
            revoked_at: from_ms_opt(self.revoked_at, T, "revoked_at")?,
            failed_attempts: i64::from(self.failed_attempts),
            locked_at: from_ms_opt(self.locked_at, T, "locked_at")?,
            opened_at: from_ms_opt(self.opened_at, T, "opened_at")?,
        })
    }
}

/// Stores a new link. An unknown school is `NotFound`.
pub fn insert(conn: &mut DbConn, new: &NewLink<'_>) -> Result<(), StoreError> {
    guarded(conn, "transparency link", |c| {
        diesel::insert_into(links::table)
            .values((
                links::id.eq(new.id.to_string()),
                links::school.eq(new.school.as_str()),
                links::student.eq(new.student.as_str()),
                links::token_hash.eq(new.token_hash),
                links::code_hash.eq(new.code_hash),
                links::created_at.eq(to_ms(new.created_at)),
                links::expires_at.eq(to_ms(new.expires_at)),
                links::failed_attempts.eq(0),
            ))
            .execute(c)
    })?;
    Ok(())
}

/// The link with this id, if any.
pub fn get(conn: &mut DbConn, id: Uuid) -> Result<Option<Link>, StoreError> {
    links::table
        .find(id.to_string())
        .select(Row::as_select())
        .first(conn)
        .optional()?
        .map(Row::into_domain)
        .transpose()
}

/// The link whose token hashes to `token_hash`, if any.
pub fn by_token_hash(conn: &mut DbConn, token_hash: &str) -> Result<Option<Link>, StoreError> {
    links::table
        .filter(links::token_hash.eq(token_hash))
        .select(Row::as_select())
        .first(conn)
        .optional()?
        .map(Row::into_domain)
        .transpose()
}

/// Marks the link revoked at `now` (the first revocation stays) and ends
/// its sessions.
pub fn revoke(conn: &mut DbConn, id: Uuid, now: DateTime<Utc>) -> Result<(), StoreError> {
    diesel::update(links::table.find(id.to_string()).filter(links::revoked_at.is_null()))
        .set(links::revoked_at.eq(Some(to_ms(now))))
        .execute(conn)?;
    diesel::delete(sessions::table.filter(sessions::link_id.eq(id.to_string()))).execute(conn)?;
    Ok(())
}

/// Counts one wrong code; at `max` wrong codes the link locks at `now`.
/// Returns the count after this one.
pub fn count_wrong_code(conn: &mut DbConn, id: Uuid, max: i64, now: DateTime<Utc>) -> Result<i64, StoreError> {
    diesel::update(links::table.find(id.to_string()))
        .set(links::failed_attempts.eq(links::failed_attempts + 1))
        .execute(conn)?;
    let count: i32 = links::table
        .find(id.to_string())
        .select(links::failed_attempts)
        .first(conn)?;
    let count = i64::from(count);
    if count >= max {
        diesel::update(links::table.find(id.to_string()).filter(links::locked_at.is_null()))
            .set(links::locked_at.eq(Some(to_ms(now))))
            .execute(conn)?;
    }
    Ok(count)
}

/// The right code: the count of wrong ones starts again, `opened_at` is now.
pub fn opened(conn: &mut DbConn, id: Uuid, now: DateTime<Utc>) -> Result<(), StoreError> {
    diesel::update(links::table.find(id.to_string()))
        .set((links::failed_attempts.eq(0), links::opened_at.eq(Some(to_ms(now)))))
        .execute(conn)?;
    Ok(())
}

/// Deletes the links that expired or were revoked before `before`, with
/// their sessions, at most `limit`; returns which went, and about whom.
pub fn delete_ended_before(conn: &mut DbConn, before: DateTime<Utc>, limit: i64) -> Result<Vec<EndedLink>, StoreError> {
    let before = to_ms(before);
    let due: Vec<(String, String, String)> = links::table
        .filter(links::expires_at.lt(before).or(links::revoked_at.lt(before)))
        .select((links::id, links::school, links::student))
        .order(links::expires_at.asc())
        .limit(limit)
        .load(conn)?;
    if due.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<&str> = due.iter().map(|(id, _, _)| id.as_str()).collect();
    diesel::delete(sessions::table.filter(sessions::link_id.eq_any(&ids))).execute(conn)?;
    diesel::delete(links::table.filter(links::id.eq_any(&ids))).execute(conn)?;
    due.into_iter()
        .map(|(id, school, student)| {
            Ok(EndedLink {
                id: parse_id(&id, T, "id")?,
                school: parsed(Brin::parse(&school), T, "school")?,
                student: parsed(Pseudonym::parse(&student), T, "student")?,
            })
        })
        .collect()
}

/// A link the purge deleted: which, whose school issued it, about whom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndedLink {
    pub id: Uuid,
    pub school: Brin,
    pub student: Pseudonym,
}

/// Deletes every link of a student (erasure), with their sessions;
/// returns the ids.
pub fn delete_for_student(conn: &mut DbConn, student: &Pseudonym) -> Result<Vec<Uuid>, StoreError> {
    let ids: Vec<String> = links::table
        .filter(links::student.eq(student.as_str()))
        .select(links::id)
        .load(conn)?;
    diesel::delete(sessions::table.filter(sessions::link_id.eq_any(&ids))).execute(conn)?;
    diesel::delete(links::table.filter(links::id.eq_any(&ids))).execute(conn)?;
    ids.iter().map(|id| parse_id(id, T, "id")).collect()
}

// ---------------------------------------------------------------- sessions

/// A stored page session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub link_id: Uuid,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
}

/// Stores a new session of `link`.
pub fn insert_session(conn: &mut DbConn, id_hash: &str, link: Uuid, now: DateTime<Utc>) -> Result<(), StoreError> {
    diesel::insert_into(sessions::table)
        .values((
            sessions::id_hash.eq(id_hash),
            sessions::link_id.eq(link.to_string()),
            sessions::created_at.eq(to_ms(now)),
            sessions::last_seen_at.eq(to_ms(now)),
        ))
        .execute(conn)?;
    Ok(())
}

/// The session with this id hash, if any.
pub fn get_session(conn: &mut DbConn, id_hash: &str) -> Result<Option<Session>, StoreError> {
    let row: Option<(String, i64, i64)> = sessions::table
        .filter(sessions::id_hash.eq(id_hash))
        .select((sessions::link_id, sessions::created_at, sessions::last_seen_at))
        .first(conn)
        .optional()?;
    row.map(|(link, created, seen)| {
        Ok(Session {
            link_id: parse_id(&link, "transparency_sessions", "link_id")?,
            created_at: from_ms(created, "transparency_sessions", "created_at")?,
            last_seen_at: from_ms(seen, "transparency_sessions", "last_seen_at")?,
        })
    })
    .transpose()
}

/// Marks the session as used at `now`.
pub fn touch_session(conn: &mut DbConn, id_hash: &str, now: DateTime<Utc>) -> Result<(), StoreError> {
    diesel::update(sessions::table.filter(sessions::id_hash.eq(id_hash)))
        .set(sessions::last_seen_at.eq(to_ms(now)))
        .execute(conn)?;
    Ok(())
}

/// Ends one session; true if it existed.
pub fn delete_session(conn: &mut DbConn, id_hash: &str) -> Result<bool, StoreError> {
    Ok(diesel::delete(sessions::table.filter(sessions::id_hash.eq(id_hash))).execute(conn)? > 0)
}

// ---------------------------------------------------------------- contacts

/// The privacy contact of each of `brins` that has one.
pub fn privacy_contacts(conn: &mut DbConn, brins: &[Brin]) -> Result<Vec<(Brin, String)>, StoreError> {
    use crate::schema::institutions;
    let names: Vec<&str> = brins.iter().map(Brin::as_str).collect();
    let rows: Vec<(String, Option<String>)> = institutions::table
        .filter(institutions::brin.eq_any(names))
        .select((institutions::brin, institutions::privacy_contact))
        .order(institutions::brin.asc())
        .load(conn)?;
    rows.into_iter()
        .filter_map(|(brin, contact)| contact.map(|c| (brin, c)))
        .map(|(brin, c)| Ok((parsed(Brin::parse(&brin), "institutions", "brin")?, c)))
        .collect()
}

/// Sets (or, with `None`, clears) an institution's privacy contact; false
/// if there is no such institution.
pub fn set_privacy_contact(conn: &mut DbConn, brin: &Brin, contact: Option<&str>) -> Result<bool, StoreError> {
    use crate::schema::institutions;
    Ok(diesel::update(institutions::table.find(brin.as_str()))
        .set(institutions::privacy_contact.eq(contact))
        .execute(conn)?
        > 0)
}
