//! Each institution's contact for the warm handover
//! (`institution_contacts`): stored as JSON, read back through the domain's
//! checks.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use doorstroom_domain::{Brin, HandoverContact, RawContact};

use crate::schema::institution_contacts as contacts;
use crate::{DbConn, StoreError, from_ms, to_ms};

const T: &str = "institution_contacts";

/// An institution's handover contact and when it was last set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredContact {
    pub handover: HandoverContact,
    pub updated_at: DateTime<Utc>,
}

/// Sets (or replaces) the institution's handover contact.
pub fn set(
    conn: &mut DbConn,
    institution: &Brin,
    handover: &HandoverContact,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let json = serde_json::to_string(handover).map_err(|e| StoreError::corrupt(T, "handover", e.to_string()))?;
    let updated = diesel::update(contacts::table.find(institution.as_str()))
        .set((contacts::handover.eq(&json), contacts::updated_at.eq(to_ms(now))))
        .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(contacts::table)
            .values((
                contacts::institution.eq(institution.as_str()),
                contacts::handover.eq(&json),
                contacts::updated_at.eq(to_ms(now)),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// The institution's handover contact, if it set one.
pub fn get(conn: &mut DbConn, institution: &Brin) -> Result<Option<StoredContact>, StoreError> {
    let row: Option<(String, i64)> = contacts::table
        .find(institution.as_str())
        .select((contacts::handover, contacts::updated_at))
        .first(conn)
        .optional()?;
    let Some((json, updated_at)) = row else { return Ok(None) };
    let raw: RawContact =
        serde_json::from_str(&json).map_err(|_| StoreError::corrupt(T, "handover", "not a contact document"))?;
    let handover = HandoverContact::parse(&raw).map_err(|e| StoreError::corrupt(T, "handover", e.to_string()))?;
    Ok(Some(StoredContact {
        handover,
        updated_at: from_ms(updated_at, T, "updated_at")?,
    }))
}

/// Removes the institution's handover contact; whether there was one.
pub fn delete(conn: &mut DbConn, institution: &Brin) -> Result<bool, StoreError> {
    Ok(diesel::delete(contacts::table.find(institution.as_str())).execute(conn)? > 0)
}
